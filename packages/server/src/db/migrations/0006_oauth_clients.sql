-- OAuth clients (issue 4): registered per org, used by the OAuth 2.0 / OIDC server. The row id is the
-- public `client_id` (unique on its own: the authorization server finds a client by it alone). A
-- confidential client's secret (`fl_ocs_…`) is stored only as its SHA-256; public clients have none.
-- Redirect URIs are kept exactly as registered: the authorization server compares them verbatim.

CREATE TABLE oauth_clients (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL,
  description text,
  type text NOT NULL CHECK (type IN ('public', 'confidential')),
  redirect_uris text[] NOT NULL,
  scopes text[] NOT NULL,
  secret_hash text,
  -- The first characters of the secret, so people can tell secrets apart (never enough to use).
  secret_start text,
  created_by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (id),
  -- A confidential client always has a secret; a public one never does.
  CHECK ((type = 'confidential') = (secret_hash IS NOT NULL)),
  CHECK ((secret_hash IS NULL) = (secret_start IS NULL))
);
