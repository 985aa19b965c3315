// SQL for environments. Every query is scoped by org and workspace inside the SQL.
import { sql } from 'kysely';
import type { EnvironmentsTable, Executor, Selectable } from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export type EnvironmentRow = Selectable<EnvironmentsTable>;

export interface EnvironmentWrite {
  name?: string;
  slug?: string;
  tier?: EnvironmentRow['tier'];
  deployment_host?: EnvironmentRow['deployment_host'];
  execution_backend?: string;
  cloud_credentials_sealed?: string | null;
}

/** Inserts unless the slug is taken in the workspace; null then (the transaction stays usable). */
export async function insertEnvironment(
  db: Executor,
  orgId: string,
  workspaceId: string,
  env: Required<Omit<EnvironmentWrite, 'cloud_credentials_sealed'>> & {
    id: string;
    cloud_credentials_sealed: string | null;
  },
) {
  const row = await db
    .insertInto('environments')
    .values({ org_id: orgId, workspace_id: workspaceId, ...env })
    .onConflict((oc) => oc.columns(['org_id', 'workspace_id', 'slug']).doNothing())
    .returningAll()
    .executeTakeFirst();
  return (row as EnvironmentRow | undefined) ?? null;
}

export async function listEnvironments(db: Executor, orgId: string, workspaceId: string, page: Page) {
  let query = db
    .selectFrom('environments')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('workspace_id', '=', workspaceId);
  if (page.after) query = query.where('id', '>', page.after);
  return (await query
    .orderBy('id')
    .limit(page.limit + 1)
    .execute()) as EnvironmentRow[];
}

export async function findEnvironment(db: Executor, orgId: string, workspaceId: string, envId: string) {
  return (
    (await db
      .selectFrom('environments')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', envId)
      .executeTakeFirst()) ?? null
  );
}

export async function slugTaken(
  db: Executor,
  orgId: string,
  workspaceId: string,
  slug: string,
  exceptId: string,
) {
  return !!(await db
    .selectFrom('environments')
    .select('id')
    .where('org_id', '=', orgId)
    .where('workspace_id', '=', workspaceId)
    .where('slug', '=', slug)
    .where('id', '<>', exceptId)
    .executeTakeFirst());
}

export async function updateEnvironment(
  db: Executor,
  orgId: string,
  workspaceId: string,
  envId: string,
  fields: EnvironmentWrite,
) {
  return (
    (await db
      .updateTable('environments')
      .set({ ...fields, updated_at: sql<Date>`now()` })
      .where('org_id', '=', orgId)
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', envId)
      .returningAll()
      .executeTakeFirst()) ?? null
  );
}

export async function deleteEnvironment(db: Executor, orgId: string, workspaceId: string, envId: string) {
  const result = await db
    .deleteFrom('environments')
    .where('org_id', '=', orgId)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', envId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
