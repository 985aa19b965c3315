-- Request-bound CLI login (seed 003): the CLI opens a request, a signed-in user approves it in the
-- browser, and the CLI collects one session — by polling with the request's secret, or by the user
-- pasting the one-time token the approval returned. A request belongs to no org until approved (then
-- to the org the approver acted in). Secrets are stored only as SHA-256 hashes (unique: lookup keys).
-- 'expired' is not stored: a pending or approved request past expires_at is expired.
CREATE TABLE cli_login_requests (
  id uuid PRIMARY KEY,
  secret_hash text NOT NULL,
  -- The one-time token handed to the approver; set on approval.
  token_hash text,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'consumed')),
  client_name text,
  requested_ip text,
  requested_user_agent text,
  approved_by_user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  approved_at timestamptz,
  consumed_at timestamptz,
  expires_at timestamptz NOT NULL,
  -- Approval sets who, when and the token together; consumption only follows an approval.
  CHECK ((status = 'pending') = (approved_at IS NULL)),
  CHECK (status = 'pending' OR (approved_by_user_id IS NOT NULL AND token_hash IS NOT NULL)),
  CHECK ((status = 'consumed') = (consumed_at IS NOT NULL))
);
CREATE UNIQUE INDEX cli_login_requests_secret_key ON cli_login_requests (secret_hash);
CREATE UNIQUE INDEX cli_login_requests_token_key ON cli_login_requests (token_hash);
-- Old requests are swept by age.
CREATE INDEX cli_login_requests_expiry_idx ON cli_login_requests (expires_at);
