// SQL for the audit log. Every query takes the org scope first.
import type { AuditLogsTable, Executor, Insertable, Selectable } from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export type AuditRow = Selectable<AuditLogsTable>;

export interface AuditFilter {
  action?: string;
  actor_id?: string;
  target_type?: string;
  target_id?: string;
  since?: Date;
  until?: Date;
}

export async function insertAudit(db: Executor, row: Insertable<AuditLogsTable>) {
  await db.insertInto('audit_logs').values(row).execute();
}

export async function listAudit(
  db: Executor,
  orgId: string,
  filter: AuditFilter,
  page: Page,
): Promise<AuditRow[]> {
  let query = db.selectFrom('audit_logs').selectAll().where('org_id', '=', orgId);
  if (filter.action) {
    // "member.*" matches a family of actions.
    query = filter.action.endsWith('.*')
      ? query.where('action', 'like', `${filter.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`)
      : query.where('action', '=', filter.action);
  }
  if (filter.actor_id) query = query.where('actor_id', '=', filter.actor_id);
  if (filter.target_type) query = query.where('target_type', '=', filter.target_type);
  if (filter.target_id) query = query.where('target_id', '=', filter.target_id);
  if (filter.since) query = query.where('occurred_at', '>=', filter.since);
  if (filter.until) query = query.where('occurred_at', '<', filter.until);
  if (page.after) query = query.where('id', '<', page.after);
  return (await query
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute()) as AuditRow[];
}
