-- Sessions form trees: a sign-in is a root; switch-org starts a child session with the same root.
-- Logout and reuse detection end the whole tree, and every session in it shares one absolute
-- expiry (a refresh token cannot keep a sign-in alive forever).
ALTER TABLE refresh_token_families ADD COLUMN root_id uuid;
ALTER TABLE refresh_token_families ADD COLUMN expires_at timestamptz;
UPDATE refresh_token_families SET root_id = id, expires_at = created_at + interval '90 days';
ALTER TABLE refresh_token_families ALTER COLUMN root_id SET NOT NULL;
ALTER TABLE refresh_token_families ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX refresh_token_families_root_idx ON refresh_token_families (root_id);

-- A suspension lifted returns the org to where it was: an archived org stays archived.
ALTER TABLE organizations ADD COLUMN suspended_from text CHECK (suspended_from IN ('active', 'archived'));
