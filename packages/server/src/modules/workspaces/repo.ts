// SQL for workspaces. Every query takes the org scope first and filters by it inside the SQL.
import { sql } from 'kysely';
import type { Executor, Selectable, WorkspacesTable } from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export type WorkspaceRow = Selectable<WorkspacesTable>;

export async function insertWorkspace(
  db: Executor,
  orgId: string,
  ws: { id: string; name: string; description: string | null },
) {
  return (await db
    .insertInto('workspaces')
    .values({ org_id: orgId, ...ws })
    .returningAll()
    .executeTakeFirstOrThrow()) as WorkspaceRow;
}

export async function listWorkspaces(db: Executor, orgId: string, page: Page) {
  let query = db.selectFrom('workspaces').selectAll().where('org_id', '=', orgId);
  if (page.after) query = query.where('id', '>', page.after);
  return (await query
    .orderBy('id')
    .limit(page.limit + 1)
    .execute()) as WorkspaceRow[];
}

export async function findWorkspace(db: Executor, orgId: string, workspaceId: string) {
  return (
    (await db
      .selectFrom('workspaces')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', workspaceId)
      .executeTakeFirst()) ?? null
  );
}

export async function updateWorkspace(
  db: Executor,
  orgId: string,
  workspaceId: string,
  fields: { name?: string; description?: string | null },
) {
  return (
    (await db
      .updateTable('workspaces')
      .set({ ...fields, updated_at: sql<Date>`now()` })
      .where('org_id', '=', orgId)
      .where('id', '=', workspaceId)
      .returningAll()
      .executeTakeFirst()) ?? null
  );
}

export async function deleteWorkspace(db: Executor, orgId: string, workspaceId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('workspaces')
    .where('org_id', '=', orgId)
    .where('id', '=', workspaceId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
