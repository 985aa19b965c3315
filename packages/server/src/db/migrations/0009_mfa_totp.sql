-- TOTP second factor (RFC 6238), one per user. The secret is sealed with the master key (AAD
-- 'totp:<user id>'); confirmed_at is null until the user proves the authenticator works;
-- last_used_step is the last accepted time step, so a code cannot be used twice.
CREATE TABLE user_totp (
  user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  secret_sealed text NOT NULL,
  confirmed_at timestamptz,
  last_used_step bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);
