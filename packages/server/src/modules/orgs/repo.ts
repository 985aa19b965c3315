// SQL for organizations and memberships-by-user. Tenant queries take the org id first.
import { sql } from 'kysely';
import type { Executor, OrganizationsTable, OrgRole, OrgStatus, Selectable } from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export type OrgRow = Omit<Selectable<OrganizationsTable>, 'created_by' | 'status_changed_at'>;

const COLUMNS = [
  'id',
  'name',
  'slug',
  'status',
  'primary_domain',
  'industry',
  'contact_email',
  'billing_email',
  'support_tier',
  'created_at',
  'updated_at',
  'suspended_from',
] as const;

export type OrgFields = Partial<
  Pick<
    OrganizationsTable,
    'name' | 'slug' | 'primary_domain' | 'industry' | 'contact_email' | 'billing_email'
  >
> & { support_tier?: OrgRow['support_tier'] };

/** Inserts the org unless its slug is taken (then returns null without aborting the transaction). */
export async function insertOrg(
  db: Executor,
  org: OrgFields & { id: string; name: string; slug: string; created_by: string },
) {
  const row = await db
    .insertInto('organizations')
    .values(org)
    .onConflict((oc) => oc.column('slug').doNothing())
    .returning(COLUMNS)
    .executeTakeFirst();
  return (row as OrgRow | undefined) ?? null;
}

export async function slugExists(db: Executor, slug: string): Promise<boolean> {
  return !!(await db.selectFrom('organizations').select('id').where('slug', '=', slug).executeTakeFirst());
}

/** lock 'update' before deleting the row; 'no-key-update' before changing it (see members/repo.ts). */
export async function findOrg(
  db: Executor,
  orgId: string,
  options: { lock?: 'update' | 'no-key-update' } = {},
) {
  let query = db.selectFrom('organizations').select(COLUMNS).where('id', '=', orgId);
  if (options.lock === 'update') query = query.forUpdate();
  if (options.lock === 'no-key-update') query = query.forNoKeyUpdate();
  return ((await query.executeTakeFirst()) as OrgRow | undefined) ?? null;
}

export async function updateOrg(db: Executor, orgId: string, fields: OrgFields) {
  return (
    (await db
      .updateTable('organizations')
      .set({ ...fields, updated_at: sql<Date>`now()` })
      .where('id', '=', orgId)
      .returning(COLUMNS)
      .executeTakeFirst()) ?? null
  );
}

export async function setOrgStatus(
  db: Executor,
  orgId: string,
  status: OrgStatus,
  suspendedFrom: OrgRow['suspended_from'] = null,
) {
  return (await db
    .updateTable('organizations')
    .set({
      status,
      suspended_from: suspendedFrom,
      status_changed_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', orgId)
    .returning(COLUMNS)
    .executeTakeFirstOrThrow()) as OrgRow;
}

/** Removes the org and everything it owns, its audit log included (the only way audit rows go). */
export async function purgeOrg(db: Executor, orgId: string): Promise<void> {
  await sql`SELECT set_config('orgplane.purging_org', ${orgId}, true)`.execute(db);
  await db.deleteFrom('organizations').where('id', '=', orgId).execute();
}

export async function insertMembership(db: Executor, orgId: string, userId: string, role: OrgRole) {
  await db.insertInto('memberships').values({ org_id: orgId, user_id: userId, role }).execute();
}

export async function listOrgsOfUser(db: Executor, userId: string, page: Page) {
  let query = db
    .selectFrom('memberships as m')
    .innerJoin('organizations as o', 'o.id', 'm.org_id')
    .select([...COLUMNS.map((c) => `o.${c}` as const), 'm.role'])
    .where('m.user_id', '=', userId);
  if (page.after) query = query.where('o.id', '>', page.after);
  return (await query
    .orderBy('o.id')
    .limit(page.limit + 1)
    .execute()) as (OrgRow & { role: OrgRole })[];
}
