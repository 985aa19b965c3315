-- What must end or shrink OAuth access tokens at once, on every node:
--  - a client's change or deletion (its registered scopes bound every token issued to it);
--  - a member leaving an org: their grants for that org go (so a later re-invitation does not
--    silently revive an application's access), which the grant trigger then announces.
CREATE FUNCTION orgplane_notify_client_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('orgplane_changes', 'client:' || OLD.id);
  RETURN NULL;
END $$;
CREATE TRIGGER oauth_clients_changes AFTER UPDATE OF scopes, redirect_uris, type, secret_hash OR DELETE
  ON oauth_clients FOR EACH ROW EXECUTE FUNCTION orgplane_notify_client_change();

CREATE FUNCTION orgplane_drop_member_grants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM oauth_models
  WHERE grant_id IN (
    SELECT id FROM oauth_models
    WHERE model = 'Grant' AND account_id = OLD.user_id AND org_id = OLD.org_id
  );
  DELETE FROM oauth_models WHERE model = 'Grant' AND account_id = OLD.user_id AND org_id = OLD.org_id;
  RETURN NULL;
END $$;
CREATE TRIGGER memberships_drop_oauth_grants AFTER DELETE ON memberships
  FOR EACH ROW EXECUTE FUNCTION orgplane_drop_member_grants();
