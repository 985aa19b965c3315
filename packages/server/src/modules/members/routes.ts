import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import { NoContent, OrgParams } from '../../http/schema-helpers.ts';
import { ChangeRoleBody, ListMembersQuery, Member, MemberPage, MemberParams } from './schemas.ts';
import { changeMemberRole, getOrgMember, listOrgMembers, removeMember } from './service.ts';

const tags = ['Members'];

export const memberRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/api/v1/orgs/:org_id/members',
    {
      config: { auth: 'org', permission: 'read:members' },
      schema: {
        tags,
        summary: 'List members',
        params: OrgParams,
        querystring: ListMembersQuery,
        response: { 200: MemberPage },
      },
    },
    async (request) => listOrgMembers(deps, scopeOf(request), pageOf(request.query)),
  );

  app.get(
    '/api/v1/orgs/:org_id/members/:user_id',
    {
      config: { auth: 'org', permission: 'read:members' },
      schema: { tags, summary: 'Get a member', params: MemberParams, response: { 200: Member } },
    },
    async (request) => getOrgMember(deps, scopeOf(request), request.params.user_id),
  );

  app.patch(
    '/api/v1/orgs/:org_id/members/:user_id',
    {
      config: { auth: 'org', permission: 'write:members' },
      schema: {
        tags,
        summary: "Change a member's role (only owners grant or take the owner role)",
        params: MemberParams,
        body: ChangeRoleBody,
        response: { 200: Member },
      },
    },
    async (request) =>
      changeMemberRole(deps, actorOf(request), scopeOf(request), request.params.user_id, request.body.role),
  );

  app.delete(
    '/api/v1/orgs/:org_id/members/:user_id',
    {
      config: { auth: 'org', permission: 'read:members' },
      schema: {
        tags,
        summary:
          'Remove a member, or leave the org yourself (never the last owner); removing others needs write:members',
        params: MemberParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await removeMember(deps, actorOf(request), scopeOf(request), request.params.user_id);
      return reply.code(204).send(null);
    },
  );
};
