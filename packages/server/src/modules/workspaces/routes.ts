import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import { NoContent, OrgParams } from '../../http/schema-helpers.ts';
import {
  CreateWorkspaceBody,
  ListWorkspacesQuery,
  UpdateWorkspaceBody,
  Workspace,
  WorkspacePage,
  WorkspaceParams,
} from './schemas.ts';
import {
  createWorkspace,
  getWorkspace,
  listOrgWorkspaces,
  patchWorkspace,
  removeWorkspace,
} from './service.ts';

const tags = ['Workspaces'];
const base = '/api/v1/orgs/:org_id/workspaces';

export const workspaceRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    base,
    {
      config: { auth: 'org', permission: 'write:workspaces' },
      schema: {
        tags,
        summary: 'Create a workspace',
        params: OrgParams,
        body: CreateWorkspaceBody,
        response: { 201: Workspace },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createWorkspace(deps, actorOf(request), scopeOf(request), request.body)),
  );

  app.get(
    base,
    {
      config: { auth: 'org', permission: 'read:workspaces' },
      schema: {
        tags,
        summary: 'List workspaces',
        params: OrgParams,
        querystring: ListWorkspacesQuery,
        response: { 200: WorkspacePage },
      },
    },
    async (request) => listOrgWorkspaces(deps, scopeOf(request), pageOf(request.query)),
  );

  app.get(
    `${base}/:workspace_id`,
    {
      config: { auth: 'org', permission: 'read:workspaces' },
      schema: { tags, summary: 'Get a workspace', params: WorkspaceParams, response: { 200: Workspace } },
    },
    async (request) => getWorkspace(deps, scopeOf(request), request.params.workspace_id),
  );

  app.patch(
    `${base}/:workspace_id`,
    {
      config: { auth: 'org', permission: 'write:workspaces' },
      schema: {
        tags,
        summary: 'Update a workspace',
        params: WorkspaceParams,
        body: UpdateWorkspaceBody,
        response: { 200: Workspace },
      },
    },
    async (request) =>
      patchWorkspace(deps, actorOf(request), scopeOf(request), request.params.workspace_id, request.body),
  );

  app.delete(
    `${base}/:workspace_id`,
    {
      config: { auth: 'org', permission: 'delete:workspaces' },
      schema: {
        tags,
        summary: 'Delete a workspace and its environments',
        params: WorkspaceParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await removeWorkspace(deps, actorOf(request), scopeOf(request), request.params.workspace_id);
      return reply.code(204).send(null);
    },
  );
};
