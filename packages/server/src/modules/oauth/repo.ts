// What the OAuth server reads of our own tables: accounts, orgs, memberships, grants.
import { sql } from 'kysely';
import type { Executor } from '../../db/schema.ts';
import { isUuid } from '../../platform/ids.ts';

export async function findAccount(db: Executor, userId: string) {
  if (!isUuid(userId)) return undefined;
  return db
    .selectFrom('users')
    .select(['id', 'email', 'name'])
    .where('id', '=', userId.toLowerCase())
    .executeTakeFirst();
}

export async function findActiveOrg(db: Executor, orgId: string) {
  return db
    .selectFrom('organizations')
    .select(['id', 'name'])
    .where('id', '=', orgId)
    .where('status', '=', 'active')
    .executeTakeFirst();
}

/** The active orgs a user belongs to, with their role: the choices on the consent page. */
export async function membershipsOf(db: Executor, userId: string) {
  return db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select(['organizations.id', 'organizations.name', 'memberships.role'])
    .where('memberships.user_id', '=', userId)
    .where('organizations.status', '=', 'active')
    .orderBy('organizations.name')
    .execute();
}

/**
 * The org of a live grant (revocation, replay detection or withdrawn consent delete the grant);
 * undefined when the grant is gone or has no org yet.
 */
export async function grantOrg(db: Executor, grantId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('oauth_models')
    .select('org_id')
    .where('model', '=', 'Grant')
    .where('id', '=', grantId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
    .executeTakeFirst();
  return row?.org_id ?? undefined;
}

/** Records the org chosen on the consent page on the grant oidc-provider just saved. */
export async function setGrantOrg(db: Executor, grantId: string, orgId: string): Promise<void> {
  await db
    .updateTable('oauth_models')
    .set({ org_id: orgId })
    .where('model', '=', 'Grant')
    .where('id', '=', grantId)
    .execute();
}

/** A client and its org's status: its registered scopes bound every token issued to it. */
export async function findClientWithOrg(db: Executor, clientId: string) {
  if (!isUuid(clientId)) return undefined;
  return db
    .selectFrom('oauth_clients')
    .innerJoin('organizations', 'organizations.id', 'oauth_clients.org_id')
    .select([
      'oauth_clients.id',
      'oauth_clients.org_id',
      'oauth_clients.scopes',
      'organizations.status as org_status',
    ])
    .where('oauth_clients.id', '=', clientId.toLowerCase())
    .executeTakeFirst();
}

/**
 * Deletes OAuth rows that expired over an hour ago (codes, interactions, sessions, refresh tokens,
 * grants), in bounded batches so one sweep never holds a long lock; returns how many went.
 */
export async function sweepExpiredOauthModels(db: Executor, batch = 1000): Promise<number> {
  const cutoff = new Date(Date.now() - 3600_000);
  const result = await sql`
    DELETE FROM oauth_models WHERE (model, id) IN (
      SELECT model, id FROM oauth_models WHERE expires_at < ${cutoff} LIMIT ${batch})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
