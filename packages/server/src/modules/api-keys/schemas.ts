import { Type } from 'typebox';
import { GRANTABLE_SCOPES } from '../../access/permissions.ts';
import { pageQueryFields, pageResponse } from '../../http/pagination.ts';
import { Nullable, StringEnum, Timestamp, Uuid } from '../../http/schema-helpers.ts';

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', examples: ['CI deploys'] });
const Description = Type.String({ maxLength: 2000, examples: ['Used by the GitHub Actions pipeline'] });

export const Scope = StringEnum(GRANTABLE_SCOPES, { description: 'A permission from the scope catalogue.' });

export const RateLimit = Type.Object(
  {
    requests: Type.Integer({ minimum: 1, maximum: 1_000_000, examples: [100] }),
    per_seconds: Type.Integer({ minimum: 1, maximum: 86_400, examples: [60] }),
  },
  { additionalProperties: false, description: 'At most `requests` requests per `per_seconds` seconds.' },
);

export const ApiKey = Type.Object({
  id: Uuid(),
  org_id: Uuid(),
  name: Type.String(),
  description: Nullable(Type.String()),
  key_start: Type.String({ description: 'The first characters of the key, to tell keys apart.' }),
  scopes: Type.Array(Type.String()),
  workspace_id: Nullable(Uuid()),
  expires_at: Nullable(Timestamp()),
  last_used_at: Nullable(
    Type.String({ format: 'date-time', description: 'Written in batches: up to a few seconds behind.' }),
  ),
  rate_limit: Nullable(RateLimit),
  created_by: Type.Object({ user_id: Uuid(), api_key_id: Nullable(Uuid()) }),
  revoked_at: Nullable(Timestamp()),
  created_at: Timestamp(),
});

export const CreatedApiKey = Type.Intersect([
  ApiKey,
  Type.Object({ key: Type.String({ description: 'The secret, shown this once: store it now.' }) }),
]);

export const ApiKeyParams = Type.Object({ org_id: Uuid(), key_id: Uuid() });

export const CreateApiKeyBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    scopes: Type.Array(Type.String({ maxLength: 100 }), { minItems: 1, maxItems: 100 }),
    workspace_id: Type.Optional(Uuid({ description: 'Restrict the key to this workspace’s routes.' })),
    expires_at: Type.Optional(Type.String({ format: 'date-time' })),
    rate_limit: Type.Optional(RateLimit),
  },
  {
    additionalProperties: false,
    examples: [{ name: 'CI deploys', scopes: ['read:workspaces', 'read:environments'] }],
  },
);

export const UpdateApiKeyBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Nullable(Description)),
    rate_limit: Type.Optional(Nullable(RateLimit)),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    examples: [{ rate_limit: { requests: 10, per_seconds: 1 } }],
  },
);

export const ListApiKeysQuery = Type.Object(
  {
    ...pageQueryFields,
    include_revoked: Type.Optional(Type.Boolean({ default: false, description: 'Also list revoked keys.' })),
  },
  { additionalProperties: false },
);
export const ApiKeyPage = pageResponse(ApiKey);
