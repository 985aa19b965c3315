-- Tenancy core: users, organizations, memberships, workspaces, environments, keys, tokens, audit.
-- Every tenant table leads with org_id and child rows reference parents by (org_id, id), so a row
-- can never point into another org (and tables can later be distributed by org_id).

CREATE TABLE users (
  id uuid PRIMARY KEY,
  email text NOT NULL,
  name text,
  password_hash text NOT NULL,
  allow_cli_login_access boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE organizations (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  slug text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'archived')),
  primary_domain text,
  industry text,
  contact_email text,
  billing_email text,
  support_tier text NOT NULL DEFAULT 'community'
    CHECK (support_tier IN ('community', 'standard', 'premium', 'enterprise')),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  status_changed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_slug_key ON organizations (slug);

-- The org's data key, wrapped by the master key. Tenant secrets are encrypted with it.
CREATE TABLE org_data_keys (
  org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  wrapped_key text NOT NULL,
  master_key_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id, org_id);

CREATE TABLE workspaces (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL,
  description text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (id)
);

CREATE TABLE environments (
  org_id uuid NOT NULL,
  workspace_id uuid NOT NULL,
  id uuid NOT NULL,
  name text NOT NULL,
  slug text NOT NULL,
  tier text NOT NULL CHECK (tier IN ('dev', 'stage', 'prod')),
  deployment_host text NOT NULL CHECK (deployment_host IN ('localhost', 'cloudrun', 'aws')),
  execution_backend jsonb NOT NULL DEFAULT '{}'::jsonb,
  cloud_credentials_sealed text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (id),
  UNIQUE (org_id, workspace_id, slug),
  FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);

-- ES256 signing keys for access tokens. The private JWK is sealed by the master key.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  public_jwk jsonb NOT NULL,
  private_jwk_sealed text NOT NULL,
  master_key_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'retired')),
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);
-- Exactly one key signs at a time, even when several nodes start together.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (status) WHERE status = 'active';

-- A sign-in session: every refresh token descends from one login (or org switch).
-- Deleting the session's org keeps the session (it then acts in no org until switch-org).
CREATE TABLE refresh_token_families (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  revoked_reason text
);
CREATE INDEX refresh_token_families_user_idx ON refresh_token_families (user_id);

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY,
  family_id uuid NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
  token_hash text NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Fixed-window counters for throttling (login failures, signups). Shared by every node.
CREATE TABLE rate_limit_counters (
  key text PRIMARY KEY,
  count integer NOT NULL,
  window_ends_at timestamptz NOT NULL
);

CREATE TABLE audit_logs (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_type text NOT NULL,
  actor_id text,
  actor_email text,
  action text NOT NULL,
  target_type text,
  target_id text,
  ip text,
  request_id text,
  user_agent text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (org_id, id)
);
CREATE INDEX audit_logs_action_idx ON audit_logs (org_id, action, id);
CREATE INDEX audit_logs_actor_idx ON audit_logs (org_id, actor_id, id);
CREATE INDEX audit_logs_target_idx ON audit_logs (org_id, target_id, id);

-- Append-only: rows are never updated, and deleted only when their whole org is purged (the
-- purge sets orgplane.purging_org to that org's id inside its transaction).
CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('orgplane.purging_org', true) = OLD.org_id::text THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_logs is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
