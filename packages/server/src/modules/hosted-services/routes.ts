import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import { NoContent } from '../../http/schema-helpers.ts';
import { WorkspaceParams } from '../workspaces/schemas.ts';
import {
  CreateHostedServiceBody,
  HostedService,
  HostedServicePage,
  HostedServiceParams,
  ListHostedServicesQuery,
  ListServiceTokensQuery,
  MintedServiceToken,
  MintServiceTokenBody,
  ServiceTokenPage,
  ServiceTokenParams,
  UpdateHostedServiceBody,
} from './schemas.ts';
import {
  createHostedService,
  getHostedService,
  listHostedServiceTokens,
  listWorkspaceHostedServices,
  mintServiceToken,
  patchHostedService,
  removeHostedService,
  revokeHostedServiceToken,
} from './service.ts';

const tags = ['Hosted services'];
const base = '/api/v1/orgs/:org_id/workspaces/:workspace_id/hosted-services';

const MINT_DESCRIPTION =
  'The `fl_hsl_` secret is in this response only (the server keeps its SHA-256). A hosted service verifies a token it receives with `POST /api/v1/auth/introspect`, which returns the custom claims top-level with `active`, `token_type: "service_token"`, `service_id`, `exp`…; the token is not a credential for this API. Answers 201.';

export const hostedServiceRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    base,
    {
      config: { auth: 'org', permission: 'write:hosted_services' },
      schema: {
        tags,
        summary: 'Create a hosted service',
        params: WorkspaceParams,
        body: CreateHostedServiceBody,
        response: { 201: HostedService },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await createHostedService(
            deps,
            actorOf(request),
            scopeOf(request),
            request.params.workspace_id,
            request.body,
          ),
        ),
  );

  app.get(
    base,
    {
      config: { auth: 'org', permission: 'read:hosted_services' },
      schema: {
        tags,
        summary: "List a workspace's hosted services",
        params: WorkspaceParams,
        querystring: ListHostedServicesQuery,
        response: { 200: HostedServicePage },
      },
    },
    async (request) =>
      listWorkspaceHostedServices(deps, scopeOf(request), request.params.workspace_id, pageOf(request.query)),
  );

  app.get(
    `${base}/:service_id`,
    {
      config: { auth: 'org', permission: 'read:hosted_services' },
      schema: {
        tags,
        summary: 'Get a hosted service',
        params: HostedServiceParams,
        response: { 200: HostedService },
      },
    },
    async (request) =>
      getHostedService(deps, scopeOf(request), request.params.workspace_id, request.params.service_id),
  );

  app.patch(
    `${base}/:service_id`,
    {
      config: { auth: 'org', permission: 'write:hosted_services' },
      schema: {
        tags,
        summary: 'Update a hosted service',
        params: HostedServiceParams,
        body: UpdateHostedServiceBody,
        response: { 200: HostedService },
      },
    },
    async (request) =>
      patchHostedService(
        deps,
        actorOf(request),
        scopeOf(request),
        request.params.workspace_id,
        request.params.service_id,
        request.body,
      ),
  );

  app.delete(
    `${base}/:service_id`,
    {
      config: { auth: 'org', permission: 'write:hosted_services' },
      schema: {
        tags,
        summary: 'Delete a hosted service and its service tokens',
        params: HostedServiceParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await removeHostedService(
        deps,
        actorOf(request),
        scopeOf(request),
        request.params.workspace_id,
        request.params.service_id,
      );
      return reply.code(204).send(null);
    },
  );

  // ── service tokens ─────────────────────────────────────────────────────────────────────────

  app.post(
    `${base}/:service_id/service-tokens/mint`,
    {
      config: { auth: 'org', permission: 'mint:service_tokens' },
      schema: {
        tags,
        summary: 'Mint a service token (fl_hsl_) for the hosted service',
        description: MINT_DESCRIPTION,
        params: HostedServiceParams,
        body: MintServiceTokenBody,
        response: { 201: MintedServiceToken },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await mintServiceToken(
            deps,
            actorOf(request),
            scopeOf(request),
            request.params.workspace_id,
            request.params.service_id,
            request.body,
          ),
        ),
  );

  app.get(
    `${base}/:service_id/service-tokens`,
    {
      config: { auth: 'org', permission: 'read:hosted_services' },
      schema: {
        tags,
        summary: "List a hosted service's tokens (never their secrets)",
        params: HostedServiceParams,
        querystring: ListServiceTokensQuery,
        response: { 200: ServiceTokenPage },
      },
    },
    async (request) =>
      listHostedServiceTokens(
        deps,
        scopeOf(request),
        request.params.workspace_id,
        request.params.service_id,
        pageOf(request.query),
        request.query.include_revoked ?? false,
      ),
  );

  app.delete(
    `${base}/:service_id/service-tokens/:token_id`,
    {
      config: { auth: 'org', permission: 'mint:service_tokens' },
      schema: {
        tags,
        summary: 'Revoke a service token (idempotent)',
        params: ServiceTokenParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await revokeHostedServiceToken(
        deps,
        actorOf(request),
        scopeOf(request),
        request.params.workspace_id,
        request.params.service_id,
        request.params.token_id,
      );
      return reply.code(204).send(null);
    },
  );
};
