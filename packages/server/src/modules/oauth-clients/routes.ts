import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import { NoContent, OrgParams } from '../../http/schema-helpers.ts';
import {
  CreatedOAuthClient,
  CreateOAuthClientBody,
  ListOAuthClientsQuery,
  OAuthClient,
  OAuthClientPage,
  OAuthClientParams,
  RotatedSecret,
  UpdateOAuthClientBody,
} from './schemas.ts';
import {
  createOAuthClient,
  getOAuthClient,
  listOrgOAuthClients,
  patchOAuthClient,
  removeOAuthClient,
  rotateOAuthClientSecret,
} from './service.ts';

const tags = ['OAuth clients'];
const base = '/api/v1/orgs/:org_id/oauth-clients';

const CREATE_DESCRIPTION =
  'Registers an application with the OAuth 2.0 / OpenID Connect server. A `confidential` client gets an `fl_ocs_` `client_secret` in this response only (the server keeps its SHA-256; rotate it to get a new one); a `public` client has none and must use PKCE. The secret authenticates the client to `/oauth/token` only: it is not a credential for this API. Answers 201.';

export const oauthClientRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    base,
    {
      config: { auth: 'org', permission: 'write:oauth_clients' },
      schema: {
        tags,
        summary: 'Register an OAuth client (a confidential client’s secret is in this response only)',
        description: CREATE_DESCRIPTION,
        params: OrgParams,
        body: CreateOAuthClientBody,
        response: { 201: CreatedOAuthClient },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createOAuthClient(deps, actorOf(request), scopeOf(request), request.body)),
  );

  app.get(
    base,
    {
      config: { auth: 'org', permission: 'read:oauth_clients' },
      schema: {
        tags,
        summary: 'List OAuth clients (never their secrets)',
        params: OrgParams,
        querystring: ListOAuthClientsQuery,
        response: { 200: OAuthClientPage },
      },
    },
    async (request) => listOrgOAuthClients(deps, scopeOf(request), pageOf(request.query)),
  );

  app.get(
    `${base}/:client_id`,
    {
      config: { auth: 'org', permission: 'read:oauth_clients' },
      schema: {
        tags,
        summary: 'Get an OAuth client',
        params: OAuthClientParams,
        response: { 200: OAuthClient },
      },
    },
    async (request) => getOAuthClient(deps, scopeOf(request), request.params.client_id),
  );

  app.patch(
    `${base}/:client_id`,
    {
      config: { auth: 'org', permission: 'write:oauth_clients' },
      schema: {
        tags,
        summary: 'Rename an OAuth client or change its redirect URIs or scopes (its type never changes)',
        params: OAuthClientParams,
        body: UpdateOAuthClientBody,
        response: { 200: OAuthClient },
      },
    },
    async (request) =>
      patchOAuthClient(deps, actorOf(request), scopeOf(request), request.params.client_id, request.body),
  );

  app.delete(
    `${base}/:client_id`,
    {
      config: { auth: 'org', permission: 'write:oauth_clients' },
      schema: {
        tags,
        summary: 'Delete an OAuth client',
        params: OAuthClientParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await removeOAuthClient(deps, actorOf(request), scopeOf(request), request.params.client_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:client_id/rotate-secret`,
    {
      config: { auth: 'org', permission: 'write:oauth_clients' },
      schema: {
        tags,
        summary: 'Replace a confidential client’s secret (the new one is in this response only)',
        description:
          'The previous secret stops working at once. Public clients have no secret: 409 `public_client`.',
        params: OAuthClientParams,
        response: { 200: RotatedSecret },
      },
    },
    async (request) =>
      rotateOAuthClientSecret(deps, actorOf(request), scopeOf(request), request.params.client_id),
  );
};
