// SQL for org memberships. Every query takes the org scope first.
import { sql } from 'kysely';
import type { Executor, OrgRole } from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export interface MemberRow {
  id: string;
  email: string;
  name: string | null;
  role: OrgRole;
  created_at: Date;
}

function members(db: Executor, orgId: string) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.email', 'u.name', 'm.role', 'm.created_at'])
    .where('m.org_id', '=', orgId);
}

export async function listMembers(db: Executor, orgId: string, page: Page) {
  let query = members(db, orgId);
  if (page.after) query = query.where('u.id', '>', page.after);
  return (await query
    .orderBy('u.id')
    .limit(page.limit + 1)
    .execute()) as MemberRow[];
}

export async function findMember(db: Executor, orgId: string, userId: string) {
  return (
    ((await members(db, orgId).where('u.id', '=', userId).executeTakeFirst()) as MemberRow | undefined) ??
    null
  );
}

/** Locks the org row: membership changes in one org run one at a time (last-owner rule). */
export async function lockOrg(db: Executor, orgId: string) {
  return !!(await db
    .selectFrom('organizations')
    .select('id')
    .where('id', '=', orgId)
    // NO KEY UPDATE: serialises member changes, yet lets concurrent inserts that reference the org
    // (sessions, audit rows) take their key-share locks, so a login or switch-org cannot deadlock.
    .forNoKeyUpdate()
    .executeTakeFirst());
}

export async function countOwners(db: Executor, orgId: string): Promise<number> {
  const row = await db
    .selectFrom('memberships')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('org_id', '=', orgId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return row.n;
}

export async function setRole(db: Executor, orgId: string, userId: string, role: OrgRole) {
  await db
    .updateTable('memberships')
    .set({ role, updated_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .execute();
}

export async function deleteMembership(db: Executor, orgId: string, userId: string) {
  await db.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
}

/** Ends the member's sessions that act in this org (they can no longer refresh into it). */
export async function revokeSessionsInOrg(db: Executor, orgId: string, userId: string) {
  await db
    .updateTable('refresh_token_families')
    .set({ revoked_at: sql<Date>`now()`, revoked_reason: 'membership_removed' })
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}
