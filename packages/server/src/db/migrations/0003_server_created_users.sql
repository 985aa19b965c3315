-- Accounts created on the server (`orgplane create-user`) rather than by HTTP signup. Only these
-- can hold platform-administrator rights: an address listed in ORGPLANE_PLATFORM_ADMIN_EMAILS
-- after a stranger signed up with it (emails are not verified) must not hand that stranger power.
ALTER TABLE users ADD COLUMN created_on_server boolean NOT NULL DEFAULT false;
