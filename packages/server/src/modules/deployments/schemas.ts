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

export const DEPLOYMENT_STATUSES = ['pending', 'in_progress', 'succeeded', 'failed', 'cancelled'] as const;

const Status = StringEnum(DEPLOYMENT_STATUSES, {
  description: 'pending → in_progress → succeeded | failed | cancelled; a finished status is final.',
});
const TokenName = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', examples: ['GitHub Actions'] });
const Version = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '\\S',
  description: 'What was deployed: a version, tag or commit.',
  examples: ['1.4.2'],
});
const Description = Type.String({ maxLength: 2000, examples: ['Release 1.4.2 from main'] });
const Metadata = JsonObjectInput({
  maxProperties: 64,
  description: 'Free-form details (commit, pipeline run, image digest…).',
});

// ── deploy tokens ──────────────────────────────────────────────────────────────────────────────

export const DeployToken = Type.Object({
  id: Uuid(),
  org_id: Uuid(),
  workspace_id: Uuid(),
  environment_id: Uuid(),
  name: Type.String(),
  token_start: Type.String({ description: 'The first characters of the token, to tell tokens apart.' }),
  expires_at: Nullable(Timestamp()),
  last_used_at: Nullable(
    Type.String({ format: 'date-time', description: 'Written in batches: up to a few seconds behind.' }),
  ),
  revoked_at: Nullable(Timestamp()),
  created_by: Type.Object({ user_id: Uuid() }),
  created_at: Timestamp(),
});

export const CreatedDeployToken = Type.Intersect([
  DeployToken,
  Type.Object({
    token: Type.String({ description: 'The secret (`fl_deploy_…`), shown this once: store it now.' }),
  }),
]);

export const DeployTokenParams = Type.Object({
  org_id: Uuid(),
  workspace_id: Uuid(),
  environment_id: Uuid(),
  token_id: Uuid(),
});

export const CreateDeployTokenBody = Type.Object(
  {
    name: TokenName,
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'A moment in the future.' })),
  },
  { additionalProperties: false, examples: [{ name: 'GitHub Actions' }] },
);

export const ListDeployTokensQuery = Type.Object(
  {
    ...pageQueryFields,
    include_revoked: Type.Optional(
      Type.Boolean({ default: false, description: 'Also list revoked tokens.' }),
    ),
  },
  { additionalProperties: false },
);
export const DeployTokenPage = pageResponse(DeployToken);

// ── deployments ────────────────────────────────────────────────────────────────────────────────

export const Deployment = Type.Object({
  id: Uuid(),
  org_id: Uuid(),
  workspace_id: Uuid(),
  environment_id: Uuid(),
  version: Type.String(),
  description: Nullable(Type.String()),
  status: Status,
  metadata: JsonObject(),
  created_by: Type.Object(
    {
      type: StringEnum(['user', 'api_key', 'deploy_token'] as const),
      id: Uuid(),
    },
    { description: 'Who recorded it: a user (signed in), an API key or a deploy token.' },
  ),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});

export const DeploymentParams = Type.Object({
  org_id: Uuid(),
  workspace_id: Uuid(),
  environment_id: Uuid(),
  deployment_id: Uuid(),
});

export const CreateDeploymentBody = Type.Object(
  {
    version: Version,
    description: Type.Optional(Description),
    metadata: Type.Optional(Metadata),
    status: Type.Optional(Status),
  },
  {
    additionalProperties: false,
    examples: [{ version: '1.4.2', description: 'Release 1.4.2', metadata: { commit: 'a1b2c3d' } }],
  },
);

export const UpdateDeploymentBody = Type.Object(
  {
    status: Type.Optional(Status),
    description: Type.Optional(Nullable(Description)),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ status: 'succeeded' }] },
);

export const ListDeploymentsQuery = Type.Object(
  { ...pageQueryFields, status: Type.Optional(Status) },
  { additionalProperties: false },
);
export const DeploymentPage = pageResponse(Deployment);
