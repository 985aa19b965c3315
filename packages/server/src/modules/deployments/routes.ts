import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import type { PrincipalKind } from '../../http/principal.ts';
import { NoContent } from '../../http/schema-helpers.ts';
import { EnvironmentParams } from '../environments/schemas.ts';
import {
  CreateDeploymentBody,
  CreateDeployTokenBody,
  CreatedDeployToken,
  Deployment,
  DeploymentPage,
  DeploymentParams,
  DeployTokenPage,
  DeployTokenParams,
  ListDeploymentsQuery,
  ListDeployTokensQuery,
  UpdateDeploymentBody,
} from './schemas.ts';
import {
  createDeployment,
  createDeployToken,
  type EnvironmentScope,
  getDeployment,
  listEnvironmentDeployments,
  listEnvironmentDeployTokens,
  patchDeployment,
  revokeEnvironmentDeployToken,
} from './service.ts';

const base = '/api/v1/orgs/:org_id/workspaces/:workspace_id/environments/:environment_id';
/** The deployment routes are the only ones a deploy token reaches (its own environment's). */
const WITH_DEPLOY_TOKENS: readonly PrincipalKind[] = ['user', 'api_key', 'deploy_token'];

/** The environment a request acts on: the org the guard allowed, the workspace and environment of its path. */
function environmentOf(
  request: FastifyRequest,
  params: { workspace_id: string; environment_id: string },
): EnvironmentScope {
  return {
    orgId: scopeOf(request),
    workspaceId: params.workspace_id.toLowerCase(),
    environmentId: params.environment_id.toLowerCase(),
  };
}

export const deploymentRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  // ── deploy tokens: managed by user sessions and API keys, never by deploy tokens ──────────────
  const tokenTags = ['Deploy tokens'];

  app.post(
    `${base}/deploy-tokens`,
    {
      config: { auth: 'org', permission: 'write:deploy_tokens' },
      schema: {
        tags: tokenTags,
        summary: 'Create a deploy token for the environment (the secret is in this response only)',
        description:
          'An `fl_deploy_` token reaches only the deployment routes of this environment. It acts with at most read:environments, read:deployments and write:deployments, bounded by its creator’s current role, and stops when its creator leaves the org.',
        params: EnvironmentParams,
        body: CreateDeployTokenBody,
        response: { 201: CreatedDeployToken },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await createDeployToken(
            deps,
            actorOf(request),
            environmentOf(request, request.params),
            request.body,
          ),
        ),
  );

  app.get(
    `${base}/deploy-tokens`,
    {
      config: { auth: 'org', permission: 'read:api_keys' },
      schema: {
        tags: tokenTags,
        summary: "List the environment's deploy tokens (never their secrets)",
        params: EnvironmentParams,
        querystring: ListDeployTokensQuery,
        response: { 200: DeployTokenPage },
      },
    },
    async (request) =>
      listEnvironmentDeployTokens(
        deps,
        environmentOf(request, request.params),
        pageOf(request.query),
        request.query.include_revoked ?? false,
      ),
  );

  app.delete(
    `${base}/deploy-tokens/:token_id`,
    {
      config: { auth: 'org', permission: 'write:deploy_tokens' },
      schema: {
        tags: tokenTags,
        summary: 'Revoke a deploy token, on every node within a second (idempotent)',
        params: DeployTokenParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await revokeEnvironmentDeployToken(
        deps,
        actorOf(request),
        environmentOf(request, request.params),
        request.params.token_id.toLowerCase(),
      );
      return reply.code(204).send(null);
    },
  );

  // ── deployments: also for the environment's deploy tokens ────────────────────────────────────
  const tags = ['Deployments'];

  app.post(
    `${base}/deployments`,
    {
      config: { auth: 'org', permission: 'write:deployments', allow: WITH_DEPLOY_TOKENS },
      schema: {
        tags,
        summary: 'Record a deployment to the environment',
        params: EnvironmentParams,
        body: CreateDeploymentBody,
        response: { 201: Deployment },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await createDeployment(
            deps,
            actorOf(request),
            environmentOf(request, request.params),
            request.body,
          ),
        ),
  );

  app.get(
    `${base}/deployments`,
    {
      config: { auth: 'org', permission: 'read:deployments', allow: WITH_DEPLOY_TOKENS },
      schema: {
        tags,
        summary: "List the environment's deployments (oldest first)",
        params: EnvironmentParams,
        querystring: ListDeploymentsQuery,
        response: { 200: DeploymentPage },
      },
    },
    async (request) =>
      listEnvironmentDeployments(
        deps,
        environmentOf(request, request.params),
        pageOf(request.query),
        request.query.status,
      ),
  );

  app.get(
    `${base}/deployments/:deployment_id`,
    {
      config: { auth: 'org', permission: 'read:deployments', allow: WITH_DEPLOY_TOKENS },
      schema: {
        tags,
        summary: 'Get a deployment',
        params: DeploymentParams,
        response: { 200: Deployment },
      },
    },
    async (request) =>
      getDeployment(deps, environmentOf(request, request.params), request.params.deployment_id.toLowerCase()),
  );

  app.patch(
    `${base}/deployments/:deployment_id`,
    {
      config: { auth: 'org', permission: 'write:deployments', allow: WITH_DEPLOY_TOKENS },
      schema: {
        tags,
        summary: 'Update a deployment’s status, description or metadata (a finished status is final)',
        params: DeploymentParams,
        body: UpdateDeploymentBody,
        response: { 200: Deployment },
      },
    },
    async (request) =>
      patchDeployment(
        deps,
        actorOf(request),
        environmentOf(request, request.params),
        request.params.deployment_id.toLowerCase(),
        request.body,
      ),
  );
};
