import { Type } from 'typebox';
import { Email, Nullable, StringEnum, Uuid } from '../../http/schema-helpers.ts';
import { PASSWORD_MAX_LENGTH } from '../../platform/passwords.ts';
import { ORG_ROLES } from '../orgs/schemas.ts';

// Length is checked by the service (with a message); the schema only bounds the input size.
const Password = Type.String({
  minLength: 1,
  maxLength: PASSWORD_MAX_LENGTH * 4,
  examples: ['correct horse battery staple'],
});

export const SignupBody = Type.Object(
  {
    email: Email({ examples: ['jane@acme.com'] }),
    password: Password,
    name: Type.Optional(Type.String({ maxLength: 200, examples: ['Jane Doe'] })),
  },
  { additionalProperties: false },
);

export const SignupResponse = Type.Object({
  user: Type.Object({ id: Uuid(), email: Type.String(), name: Nullable(Type.String()) }),
  organization: Type.Object({ id: Uuid(), name: Type.String(), slug: Type.String() }),
});

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254, examples: ['jane@acme.com'] }),
    password: Password,
    org_id: Type.Optional(Uuid({ description: 'Org the session acts in; defaults to your first org.' })),
    mfa_code: Type.Optional(
      Type.String({
        pattern: '^[0-9]{6}$',
        description: 'The current 6-digit code from your authenticator app, when two-factor sign-in is on.',
        examples: ['123456'],
      }),
    ),
  },
  { additionalProperties: false },
);

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  refresh_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
});

export const RefreshBody = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);

export const SwitchOrgBody = Type.Object({ org_id: Uuid() }, { additionalProperties: false });

export const WhoamiResponse = Type.Object({
  user_id: Uuid(),
  email: Type.String(),
  organization: Nullable(Type.Object({ id: Uuid(), name: Type.String() })),
  role: Nullable(StringEnum(ORG_ROLES)),
  scopes: Type.Array(Type.String()),
  credential: Type.Object({
    type: StringEnum(['access_token', 'api_key', 'deploy_token'] as const),
    id: Type.String(),
    api_key_id: Type.Optional(Type.String({ description: 'For a token exchanged for an API key: the key.' })),
  }),
});

export const Jwks = Type.Object({
  keys: Type.Array(Type.Object({}, { additionalProperties: true })),
});
