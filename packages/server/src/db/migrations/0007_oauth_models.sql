-- What the OAuth 2.0 / OpenID Connect server (oidc-provider) stores: sessions, interactions,
-- grants, authorization and device codes, refresh tokens (access tokens are JWTs and are not
-- stored). One table, one row per model instance, its payload as oidc-provider hands it over;
-- the columns beside it are the lookups oidc-provider asks for (grant, user code, uid) and the
-- owners whose deletion must take everything issued to them along (client, user).
CREATE TABLE oauth_models (
  model text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  user_code text,
  uid text,
  client_id uuid REFERENCES oauth_clients (id) ON DELETE CASCADE,
  account_id uuid REFERENCES users (id) ON DELETE CASCADE,
  -- A grant's org: the one the user chose on the consent page (set by Orgplane, not oidc-provider).
  org_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
  expires_at timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX oauth_models_grant_id ON oauth_models (grant_id) WHERE grant_id IS NOT NULL;
CREATE UNIQUE INDEX oauth_models_user_code ON oauth_models (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX oauth_models_uid ON oauth_models (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX oauth_models_expires_at ON oauth_models (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX oauth_models_client_id ON oauth_models (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX oauth_models_account_id ON oauth_models (account_id) WHERE account_id IS NOT NULL;

-- Access tokens are JWTs verified without a lookup; what ends them early is their grant going away
-- (revocation, a replayed code or refresh token, the user withdrawing consent, the client deleted).
-- Every node drops the grant's cached principal when it hears this.
CREATE FUNCTION orgplane_notify_grant_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('orgplane_changes', 'grant:' || OLD.id);
  RETURN NULL;
END $$;
CREATE TRIGGER oauth_grants_changes AFTER UPDATE OR DELETE ON oauth_models
  FOR EACH ROW WHEN (OLD.model = 'Grant') EXECUTE FUNCTION orgplane_notify_grant_change();
