import { Type } from 'typebox';
import { Nullable, Timestamp, Uuid } from '../../http/schema-helpers.ts';

export const Me = Type.Object({
  id: Uuid(),
  email: Type.String(),
  name: Nullable(Type.String()),
  allow_cli_login_access: Type.Boolean({
    description:
      'Whether this user may approve CLI login requests (POST /api/v1/auth/cli-login-requests/{request_id}/token); off by default.',
  }),
  created_at: Timestamp(),
});

export const UpdateMeBody = Type.Object(
  {
    name: Type.Optional(
      Nullable(
        Type.String({
          minLength: 1,
          maxLength: 100,
          pattern: '\\S',
          description: 'Display name (1–100 characters, surrounding spaces trimmed); null clears it.',
          examples: ['Jane Doe'],
        }),
      ),
    ),
    allow_cli_login_access: Type.Optional(
      Type.Boolean({
        description:
          'Lets this user approve CLI logins (off by default; CLI login answers 403 until it is on).',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ allow_cli_login_access: true }] },
);
