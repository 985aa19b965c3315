import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { scopeOf } from '../../http/guard.ts';
import { pageOf } from '../../http/pagination.ts';
import { AuditLogPage, ListAuditLogsQuery, OrgParams } from './schemas.ts';
import { listAuditLogs } from './service.ts';

export const auditRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/api/v1/orgs/:org_id/audit-logs',
    {
      config: { auth: 'org', permission: 'read:audit_logs' },
      schema: {
        tags: ['Audit'],
        summary: 'List the audit log, newest first',
        params: OrgParams,
        querystring: ListAuditLogsQuery,
        response: { 200: AuditLogPage },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      return listAuditLogs(deps.db, scopeOf(request), filter, pageOf({ limit, cursor }));
    },
  );
};
