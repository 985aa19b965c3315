import { Type } from 'typebox';

export const TokenExchangeBody = Type.Object(
  {
    api_key: Type.String({ minLength: 1, maxLength: 8192, examples: ['fl_…'] }),
    ttl_minutes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1440,
        default: 60,
        description: 'Lifetime of the access token, 1–1440 minutes (never beyond the key’s own expiry).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ExchangedToken = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires.' }),
});

export const IntrospectBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 8192 }) },
  { additionalProperties: false },
);

export const Introspection = Type.Object(
  {
    active: Type.Boolean(),
    token_type: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    iss: Type.Optional(Type.String()),
    jti: Type.Optional(Type.String()),
    org_id: Type.Optional(Type.String()),
    workspace_id: Type.Optional(Type.String()),
    environment_id: Type.Optional(Type.String()),
    service_id: Type.Optional(Type.String()),
    api_key_id: Type.Optional(Type.String()),
  },
  {
    additionalProperties: true,
    description:
      'RFC 7662. Inactive tokens (unknown, expired, revoked, malformed, or of another org than the caller’s) are just `{"active": false}`. Service tokens also carry their custom claims as top-level members.',
  },
);

export const RotatedKey = Type.Object({
  kid: Type.String({ description: 'The key that signs from now on.' }),
});
