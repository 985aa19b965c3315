-- Machine credentials (C4): API keys, hosted services with their service tokens, deploy tokens and
-- the deployments they record. Secrets are stored only as SHA-256 hashes (unique: the lookup key).

CREATE TABLE api_keys (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  -- Restricts the key to one workspace's routes; deleting the workspace deletes the key.
  workspace_id uuid,
  name text NOT NULL,
  description text,
  key_hash text NOT NULL,
  -- The first characters of the key, so people can tell their keys apart (never enough to use).
  key_start text NOT NULL,
  scopes text[] NOT NULL,
  -- The key acts with at most this user's current permissions; it stops when they leave the org.
  created_by_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- Set when another key created this one: revoking the parent revokes it too.
  created_by_api_key_id uuid,
  rate_limit_requests integer CHECK (rate_limit_requests > 0),
  rate_limit_per_seconds integer CHECK (rate_limit_per_seconds > 0),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (id),
  CHECK ((rate_limit_requests IS NULL) = (rate_limit_per_seconds IS NULL)),
  FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_parent_idx ON api_keys (org_id, created_by_api_key_id);

CREATE TABLE hosted_services (
  org_id uuid NOT NULL,
  workspace_id uuid NOT NULL,
  id uuid NOT NULL,
  name text NOT NULL,
  description text,
  url text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (id),
  UNIQUE (org_id, workspace_id, name),
  FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces (org_id, id) ON DELETE CASCADE
);

CREATE TABLE service_tokens (
  org_id uuid NOT NULL,
  workspace_id uuid NOT NULL,
  service_id uuid NOT NULL,
  id uuid NOT NULL,
  token_hash text NOT NULL,
  claims jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  -- Minted with an API key: revoking that key revokes this token too.
  created_by_api_key_id uuid,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (id),
  FOREIGN KEY (org_id, service_id) REFERENCES hosted_services (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX service_tokens_hash_key ON service_tokens (token_hash);
CREATE INDEX service_tokens_service_idx ON service_tokens (org_id, service_id);

CREATE TABLE deploy_tokens (
  org_id uuid NOT NULL,
  workspace_id uuid NOT NULL,
  environment_id uuid NOT NULL,
  id uuid NOT NULL,
  name text NOT NULL,
  token_hash text NOT NULL,
  token_start text NOT NULL,
  created_by_user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- Created with an API key: revoking that key revokes this token too.
  created_by_api_key_id uuid,
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (id),
  FOREIGN KEY (org_id, environment_id) REFERENCES environments (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX deploy_tokens_hash_key ON deploy_tokens (token_hash);
CREATE INDEX deploy_tokens_environment_idx ON deploy_tokens (org_id, environment_id);

CREATE TABLE deployments (
  org_id uuid NOT NULL,
  workspace_id uuid NOT NULL,
  environment_id uuid NOT NULL,
  id uuid NOT NULL,
  version text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'in_progress', 'succeeded', 'failed', 'cancelled')),
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Who recorded it: a user session, an API key or a deploy token.
  created_by_type text NOT NULL,
  created_by_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, id),
  UNIQUE (id),
  FOREIGN KEY (org_id, environment_id) REFERENCES environments (org_id, id) ON DELETE CASCADE
);
CREATE INDEX deployments_environment_idx ON deployments (org_id, environment_id, id);

-- ── Change feed ─────────────────────────────────────────────────────────────────────────────
-- Every node caches verified credentials in process. Whatever can end or shrink a credential
-- (revocation, expiry change, role change, membership removal, org status, session end, deletes
-- by cascade) announces itself on one channel; NOTIFY is transactional, so a node hears of a
-- change only once it is committed, and identical payloads in one transaction arrive once.
-- Triggers rather than application calls, so no code path (cascades included) can forget it.

CREATE FUNCTION orgplane_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_data record;
BEGIN
  IF TG_OP = 'DELETE' THEN row_data := OLD; ELSE row_data := NEW; END IF;
  CASE TG_TABLE_NAME
    WHEN 'organizations' THEN PERFORM pg_notify('orgplane_changes', 'org:' || row_data.id);
    WHEN 'memberships' THEN PERFORM pg_notify('orgplane_changes', 'org:' || row_data.org_id);
    WHEN 'users' THEN PERFORM pg_notify('orgplane_changes', 'user:' || row_data.id);
    WHEN 'refresh_token_families' THEN PERFORM pg_notify('orgplane_changes', 'session:' || row_data.id);
    WHEN 'api_keys' THEN PERFORM pg_notify('orgplane_changes', 'key:' || row_data.id);
    WHEN 'service_tokens' THEN PERFORM pg_notify('orgplane_changes', 'key:' || row_data.id);
    WHEN 'deploy_tokens' THEN PERFORM pg_notify('orgplane_changes', 'key:' || row_data.id);
    WHEN 'signing_keys' THEN PERFORM pg_notify('orgplane_changes', 'signing_keys');
    ELSE PERFORM pg_notify('orgplane_changes', 'all');
  END CASE;
  RETURN NULL;
END $$;

CREATE TRIGGER organizations_changes AFTER UPDATE OF status, name OR DELETE ON organizations
  FOR EACH ROW EXECUTE FUNCTION orgplane_notify_change();
CREATE TRIGGER memberships_changes AFTER INSERT OR UPDATE OF role OR DELETE ON memberships
  FOR EACH ROW EXECUTE FUNCTION orgplane_notify_change();
CREATE TRIGGER users_changes AFTER UPDATE OF email, password_hash OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION orgplane_notify_change();
CREATE TRIGGER refresh_token_families_changes AFTER UPDATE OF revoked_at, expires_at OR DELETE
  ON refresh_token_families FOR EACH ROW EXECUTE FUNCTION orgplane_notify_change();
-- last_used_at is written in batches and must not flush caches: only the columns that matter.
CREATE TRIGGER api_keys_changes AFTER UPDATE OF revoked_at, expires_at, scopes, workspace_id,
  rate_limit_requests, rate_limit_per_seconds OR DELETE ON api_keys
  FOR EACH ROW EXECUTE FUNCTION orgplane_notify_change();
CREATE TRIGGER service_tokens_changes AFTER UPDATE OF revoked_at, expires_at OR DELETE ON service_tokens
  FOR EACH ROW EXECUTE FUNCTION orgplane_notify_change();
CREATE TRIGGER deploy_tokens_changes AFTER UPDATE OF revoked_at, expires_at OR DELETE ON deploy_tokens
  FOR EACH ROW EXECUTE FUNCTION orgplane_notify_change();
CREATE TRIGGER signing_keys_changes AFTER INSERT OR UPDATE ON signing_keys
  FOR EACH ROW EXECUTE FUNCTION orgplane_notify_change();
