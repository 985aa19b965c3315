import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, principalOf, scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import { NoContent } from '../../http/schema-helpers.ts';
import {
  CreateOrgBody,
  ListOrgsQuery,
  Organization,
  OrganizationPage,
  OrganizationWithRole,
  OrgParams,
  UpdateOrgBody,
} from './schemas.ts';
import { changeOrgStatus, createOrg, deleteOrg, getOrg, listMyOrgs, updateOrgFields } from './service.ts';

const tags = ['Organizations'];

export const orgRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    '/api/v1/orgs',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Create an organization; the caller becomes its owner',
        body: CreateOrgBody,
        response: { 201: OrganizationWithRole },
      },
    },
    async (request, reply) => reply.code(201).send(await createOrg(deps, actorOf(request), request.body)),
  );

  app.get(
    '/api/v1/orgs',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: "List the caller's organizations",
        querystring: ListOrgsQuery,
        response: { 200: OrganizationPage },
      },
    },
    async (request) => listMyOrgs(deps, actorOf(request), pageOf(request.query)),
  );

  app.get(
    '/api/v1/orgs/:org_id',
    {
      config: { auth: 'org', permission: 'read:org', ownerWhenInactive: true },
      schema: { tags, summary: 'Get an organization', params: OrgParams, response: { 200: Organization } },
    },
    async (request) => getOrg(deps, scopeOf(request)),
  );

  app.patch(
    '/api/v1/orgs/:org_id',
    {
      config: { auth: 'org', permission: 'write:org', platformAdmin: true },
      schema: {
        tags,
        summary: "Update an organization's fields",
        params: OrgParams,
        body: UpdateOrgBody,
        response: { 200: Organization },
      },
    },
    async (request) => updateOrgFields(deps, actorOf(request), scopeOf(request), request.body),
  );

  app.delete(
    '/api/v1/orgs/:org_id',
    {
      config: { auth: 'org', permission: 'delete:org', ownerWhenInactive: true },
      schema: {
        tags,
        summary: 'Delete an organization and everything it owns (owners only)',
        params: OrgParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await deleteOrg(deps, scopeOf(request));
      // The org's own audit log goes with it, so the deletion is recorded in the server log.
      request.log.warn(
        { org_id: scopeOf(request), deleted_by: principalOf(request).userId },
        'organization deleted with all its data',
      );
      return reply.code(204).send(null);
    },
  );

  const lifecycle = [
    ['archive', 'archive:org', 'Archive: stop every credential of the org (owners)', false],
    ['suspend', 'suspend:org', 'Suspend: stop every credential of the org (platform admins)', true],
    ['restore', 'archive:org', 'Restore an archived (owners) or suspended (platform admins) org', true],
  ] as const;
  for (const [action, permission, summary, platformAdmin] of lifecycle) {
    app.post(
      `/api/v1/orgs/:org_id/${action}`,
      {
        config: { auth: 'org', permission, platformAdmin, ownerWhenInactive: action === 'restore' },
        schema: { tags, summary, params: OrgParams, response: { 200: Organization } },
      },
      async (request) => changeOrgStatus(deps, actorOf(request), scopeOf(request), action),
    );
  }
};
