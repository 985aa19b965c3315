import { Type } from 'typebox';
import { pageQueryFields, pageResponse } from '../../http/pagination.ts';
import {
  JsonObject,
  JsonObjectInput,
  Nullable,
  StringEnum,
  Timestamp,
  Uuid,
} from '../../http/schema-helpers.ts';

export const TIERS = ['dev', 'stage', 'prod'] as const;
export const DEPLOYMENT_HOSTS = ['localhost', 'cloudrun', 'aws'] as const;

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', examples: ['Production'] });
const Slug = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,62}$',
  description: 'Lowercase letters, digits and single hyphens; unique within the workspace.',
  examples: ['prod'],
});
const ExecutionBackend = JsonObjectInput({
  maxProperties: 64,
  description: 'Compute backend configuration, e.g. `{"type": "docker", "cpu": 2}`.',
});
const CloudCredentials = JsonObjectInput({
  maxProperties: 64,
  description: 'Provider credentials; write-only, encrypted at rest, never returned. `null` clears them.',
});

export const Environment = Type.Object({
  id: Uuid(),
  org_id: Uuid(),
  workspace_id: Uuid(),
  name: Type.String(),
  slug: Type.String(),
  tier: StringEnum(TIERS),
  deployment_host: StringEnum(DEPLOYMENT_HOSTS),
  execution_backend: JsonObject(),
  has_cloud_credentials: Type.Boolean(),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});

export const EnvironmentParams = Type.Object({
  org_id: Uuid(),
  workspace_id: Uuid(),
  environment_id: Uuid(),
});
export const CreateEnvironmentBody = Type.Object(
  {
    name: Name,
    slug: Slug,
    tier: StringEnum(TIERS),
    deployment_host: StringEnum(DEPLOYMENT_HOSTS),
    execution_backend: Type.Optional(ExecutionBackend),
    cloud_credentials: Type.Optional(Nullable(CloudCredentials)),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Production',
        slug: 'prod',
        tier: 'prod',
        deployment_host: 'cloudrun',
        cloud_credentials: { project: 'acme-prod' },
      },
    ],
  },
);
export const UpdateEnvironmentBody = Type.Object(
  {
    name: Type.Optional(Name),
    slug: Type.Optional(Slug),
    tier: Type.Optional(StringEnum(TIERS)),
    deployment_host: Type.Optional(StringEnum(DEPLOYMENT_HOSTS)),
    execution_backend: Type.Optional(ExecutionBackend),
    cloud_credentials: Type.Optional(Nullable(CloudCredentials)),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ tier: 'stage' }] },
);
export const ListEnvironmentsQuery = Type.Object(pageQueryFields, { additionalProperties: false });
export const EnvironmentPage = pageResponse(Environment);
