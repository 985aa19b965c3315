import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import { NoContent } from '../../http/schema-helpers.ts';
import { WorkspaceParams } from '../workspaces/schemas.ts';
import {
  CreateEnvironmentBody,
  Environment,
  EnvironmentPage,
  EnvironmentParams,
  ListEnvironmentsQuery,
  UpdateEnvironmentBody,
} from './schemas.ts';
import {
  createEnvironment,
  getEnvironment,
  listWorkspaceEnvironments,
  patchEnvironment,
  removeEnvironment,
} from './service.ts';

const tags = ['Environments'];
const base = '/api/v1/orgs/:org_id/workspaces/:workspace_id/environments';

export const environmentRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    base,
    {
      config: { auth: 'org', permission: 'write:environments' },
      schema: {
        tags,
        summary: 'Create an environment',
        params: WorkspaceParams,
        body: CreateEnvironmentBody,
        response: { 201: Environment },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await createEnvironment(
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
      config: { auth: 'org', permission: 'read:environments' },
      schema: {
        tags,
        summary: "List a workspace's environments",
        params: WorkspaceParams,
        querystring: ListEnvironmentsQuery,
        response: { 200: EnvironmentPage },
      },
    },
    async (request) =>
      listWorkspaceEnvironments(deps, scopeOf(request), request.params.workspace_id, pageOf(request.query)),
  );

  app.get(
    `${base}/:environment_id`,
    {
      config: { auth: 'org', permission: 'read:environments' },
      schema: {
        tags,
        summary: 'Get an environment',
        params: EnvironmentParams,
        response: { 200: Environment },
      },
    },
    async (request) =>
      getEnvironment(deps, scopeOf(request), request.params.workspace_id, request.params.environment_id),
  );

  app.patch(
    `${base}/:environment_id`,
    {
      config: { auth: 'org', permission: 'write:environments' },
      schema: {
        tags,
        summary: 'Update an environment (cloud_credentials replaces or, with null, clears them)',
        params: EnvironmentParams,
        body: UpdateEnvironmentBody,
        response: { 200: Environment },
      },
    },
    async (request) =>
      patchEnvironment(
        deps,
        actorOf(request),
        scopeOf(request),
        request.params.workspace_id,
        request.params.environment_id,
        request.body,
      ),
  );

  app.delete(
    `${base}/:environment_id`,
    {
      config: { auth: 'org', permission: 'write:environments' },
      schema: {
        tags,
        summary: 'Delete an environment',
        params: EnvironmentParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await removeEnvironment(
        deps,
        actorOf(request),
        scopeOf(request),
        request.params.workspace_id,
        request.params.environment_id,
      );
      return reply.code(204).send(null);
    },
  );
};
