import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { GRANTABLE_SCOPES } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import { NoContent, OrgParams } from '../../http/schema-helpers.ts';
import {
  ApiKey,
  ApiKeyPage,
  ApiKeyParams,
  CreateApiKeyBody,
  CreatedApiKey,
  ListApiKeysQuery,
  Scope,
  UpdateApiKeyBody,
} from './schemas.ts';
import { createApiKey, getApiKey, listOrgApiKeys, patchApiKey, revokeApiKey } from './service.ts';

const tags = ['API keys'];
const base = '/api/v1/orgs/:org_id/api-keys';

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/api/v1/scopes',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'The scope catalogue API keys are granted from',
        response: { 200: Type.Object({ scopes: Type.Array(Scope) }) },
      },
    },
    async () => ({ scopes: [...GRANTABLE_SCOPES] }),
  );

  app.post(
    base,
    {
      config: { auth: 'org', permission: 'write:api_keys' },
      schema: {
        tags,
        summary: 'Create an API key (the secret is in this response only)',
        description:
          'Scopes come from the catalogue (`GET /api/v1/scopes`) and cannot exceed the caller’s own permissions. At every use the key acts with its scopes ∩ its creator’s current role, and stops when its creator leaves the org.',
        params: OrgParams,
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createApiKey(deps, actorOf(request), scopeOf(request), request.body)),
  );

  app.get(
    base,
    {
      config: { auth: 'org', permission: 'read:api_keys' },
      schema: {
        tags,
        summary: 'List API keys (never their secrets)',
        params: OrgParams,
        querystring: ListApiKeysQuery,
        response: { 200: ApiKeyPage },
      },
    },
    async (request) =>
      listOrgApiKeys(deps, scopeOf(request), pageOf(request.query), request.query.include_revoked ?? false),
  );

  app.get(
    `${base}/:key_id`,
    {
      config: { auth: 'org', permission: 'read:api_keys' },
      schema: { tags, summary: 'Get an API key', params: ApiKeyParams, response: { 200: ApiKey } },
    },
    async (request) => getApiKey(deps, scopeOf(request), request.params.key_id.toLowerCase()),
  );

  app.patch(
    `${base}/:key_id`,
    {
      config: { auth: 'org', permission: 'write:api_keys' },
      schema: {
        tags,
        summary: 'Rename, describe or change the rate limit of an API key (scopes never change)',
        params: ApiKeyParams,
        body: UpdateApiKeyBody,
        response: { 200: ApiKey },
      },
    },
    async (request) =>
      patchApiKey(
        deps,
        actorOf(request),
        scopeOf(request),
        request.params.key_id.toLowerCase(),
        request.body,
      ),
  );

  app.delete(
    `${base}/:key_id`,
    {
      config: { auth: 'org', permission: 'write:api_keys' },
      schema: {
        tags,
        summary: 'Revoke an API key (and every key created with it), on every node within a second',
        params: ApiKeyParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await revokeApiKey(deps, actorOf(request), scopeOf(request), request.params.key_id.toLowerCase());
      return reply.code(204).send(null);
    },
  );
};
