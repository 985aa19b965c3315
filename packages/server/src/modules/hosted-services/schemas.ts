import { Type } from 'typebox';
import { pageQueryFields, pageResponse } from '../../http/pagination.ts';
import { JsonObject, JsonObjectInput, Nullable, Timestamp, Uuid } from '../../http/schema-helpers.ts';

/** Claim names introspection sets itself: a custom claim may not shadow them (`sub` may be set). */
export const RESERVED_CLAIMS = [
  'active',
  'token_type',
  'scope',
  'client_id',
  'username',
  'exp',
  'iat',
  'nbf',
  'aud',
  'iss',
  'jti',
  'org_id',
  'workspace_id',
  'service_id',
  'environment_id',
  'api_key_id',
] as const;

/** The most JSON a token's custom claims may serialise to (UTF-8 bytes). */
export const MAX_CLAIMS_BYTES = 4096;

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', examples: ['Billing API'] });
const Description = Type.String({ maxLength: 2000, examples: ['Invoices and payment webhooks'] });
const Url = Type.String({
  format: 'uri',
  maxLength: 2048,
  pattern: '^https?://\\S+$',
  description: 'Where the service runs: an absolute http:// or https:// URL.',
  examples: ['https://billing.example.com'],
});

export const HostedService = Type.Object({
  id: Uuid(),
  org_id: Uuid(),
  workspace_id: Uuid(),
  name: Type.String(),
  description: Nullable(Type.String()),
  url: Nullable(Type.String()),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});

export const HostedServiceParams = Type.Object({ org_id: Uuid(), workspace_id: Uuid(), service_id: Uuid() });

export const CreateHostedServiceBody = Type.Object(
  { name: Name, description: Type.Optional(Description), url: Type.Optional(Url) },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Billing API',
        description: 'Invoices and payment webhooks',
        url: 'https://billing.example.com',
      },
    ],
  },
);

export const UpdateHostedServiceBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Nullable(Description)),
    url: Type.Optional(Nullable(Url)),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ url: 'https://billing-v2.example.com' }] },
);

export const ListHostedServicesQuery = Type.Object(pageQueryFields, { additionalProperties: false });
export const HostedServicePage = pageResponse(HostedService);

// ── service tokens ───────────────────────────────────────────────────────────────────────────

export const ServiceTokenParams = Type.Object({
  org_id: Uuid(),
  workspace_id: Uuid(),
  service_id: Uuid(),
  token_id: Uuid(),
});

export const MintServiceTokenBody = Type.Object(
  {
    claims: Type.Optional(
      JsonObjectInput({
        properties: { sub: Type.String({ minLength: 1, maxLength: 255 }) },
        description: `Custom claims, returned top-level by introspection. At most ${MAX_CLAIMS_BYTES} bytes of JSON; \`sub\` (a string) may be set, the other standard names may not: ${RESERVED_CLAIMS.join(', ')}.`,
      }),
    ),
    ttl_minutes: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1440, default: 60, description: 'Lifetime in minutes (1–1440).' }),
    ),
  },
  {
    additionalProperties: false,
    examples: [{ claims: { sub: 'service-caller' }, ttl_minutes: 60 }],
  },
);

export const MintedServiceToken = Type.Object({
  token: Type.String({ description: 'The `fl_hsl_` secret, shown this once: store it now.' }),
  id: Uuid(),
  service_id: Uuid(),
  expires_at: Timestamp(),
});

export const ServiceToken = Type.Object({
  id: Uuid(),
  service_id: Uuid(),
  claims: JsonObject(),
  expires_at: Timestamp(),
  revoked_at: Nullable(Timestamp()),
  created_by: Type.Object({
    user_id: Nullable(Uuid({ description: 'The user who minted it (null once that user is deleted).' })),
  }),
  created_at: Timestamp(),
});

export const ListServiceTokensQuery = Type.Object(
  {
    ...pageQueryFields,
    include_revoked: Type.Optional(
      Type.Boolean({ default: false, description: 'Also list revoked tokens.' }),
    ),
  },
  { additionalProperties: false },
);
export const ServiceTokenPage = pageResponse(ServiceToken);
