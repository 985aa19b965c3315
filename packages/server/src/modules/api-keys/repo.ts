// SQL for API keys. Tenant queries take the org scope first; the lookups by hash or id used to
// authenticate a request are the only ones without it (the key is what tells us the org).
import { sql } from 'kysely';
import type { ApiKeysTable, Executor, Insertable, OrgRole, OrgStatus, Selectable } from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export type ApiKeyRow = Selectable<ApiKeysTable>;

export async function insertApiKey(db: Executor, key: Insertable<ApiKeysTable>) {
  return (await db.insertInto('api_keys').values(key).returningAll().executeTakeFirstOrThrow()) as ApiKeyRow;
}

export async function listApiKeys(db: Executor, orgId: string, page: Page, includeRevoked: boolean) {
  let query = db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId);
  if (!includeRevoked) query = query.where('revoked_at', 'is', null);
  if (page.after) query = query.where('id', '>', page.after);
  return (await query
    .orderBy('id')
    .limit(page.limit + 1)
    .execute()) as ApiKeyRow[];
}

export async function findApiKey(
  db: Executor,
  orgId: string,
  keyId: string,
  options: { forUpdate?: boolean } = {},
) {
  let query = db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).where('id', '=', keyId);
  if (options.forUpdate) query = query.forUpdate();
  return ((await query.executeTakeFirst()) as ApiKeyRow | undefined) ?? null;
}

export async function updateApiKey(
  db: Executor,
  orgId: string,
  keyId: string,
  fields: Partial<Pick<ApiKeyRow, 'name' | 'description' | 'rate_limit_requests' | 'rate_limit_per_seconds'>>,
) {
  return (
    ((await db
      .updateTable('api_keys')
      .set(fields)
      .where('org_id', '=', orgId)
      .where('id', '=', keyId)
      .returningAll()
      .executeTakeFirst()) as ApiKeyRow | undefined) ?? null
  );
}

/**
 * Revokes the key and every key created through it (a leaked key cannot leave children behind);
 * returns the ids revoked now (already-revoked keys are left as they were).
 */
export async function revokeApiKeyTree(db: Executor, orgId: string, keyId: string): Promise<string[]> {
  const rows = await sql<{ id: string }>`
    WITH RECURSIVE tree AS (
      SELECT id FROM api_keys WHERE org_id = ${orgId} AND id = ${keyId}
      UNION
      SELECT k.id FROM api_keys k JOIN tree ON k.created_by_api_key_id = tree.id WHERE k.org_id = ${orgId}
    )
    UPDATE api_keys SET revoked_at = now()
    WHERE org_id = ${orgId} AND id IN (SELECT id FROM tree) AND revoked_at IS NULL
    RETURNING id`.execute(db);
  return rows.rows.map((row) => row.id);
}

/** Revokes the keys a user created in an org (they left or were removed). */
export async function revokeKeysOfUser(db: Executor, orgId: string, userId: string): Promise<string[]> {
  const rows = await db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('created_by_user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

export interface KeyInUseRow {
  id: string;
  org_id: string;
  workspace_id: string | null;
  scopes: string[];
  expires_at: Date | null;
  rate_limit_requests: number | null;
  rate_limit_per_seconds: number | null;
  user_id: string;
  email: string;
  role: OrgRole | null;
  org_name: string;
  org_status: OrgStatus;
}

/**
 * A live key (unrevoked, unexpired) with everything needed to authorise a request in one indexed
 * query: its creator's current role in the key's org (null once they left) and the org's status.
 */
export async function findLiveKey(db: Executor, by: { hash: string } | { id: string }) {
  let query = db
    .selectFrom('api_keys as k')
    .innerJoin('users as u', 'u.id', 'k.created_by_user_id')
    .innerJoin('organizations as o', 'o.id', 'k.org_id')
    .leftJoin('memberships as m', (join) =>
      join.onRef('m.org_id', '=', 'k.org_id').onRef('m.user_id', '=', 'k.created_by_user_id'),
    )
    .select([
      'k.id',
      'k.org_id',
      'k.workspace_id',
      'k.scopes',
      'k.expires_at',
      'k.rate_limit_requests',
      'k.rate_limit_per_seconds',
      'u.id as user_id',
      'u.email',
      'm.role',
      'o.name as org_name',
      'o.status as org_status',
    ])
    .where('k.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('k.expires_at', 'is', null), eb('k.expires_at', '>', sql<Date>`now()`)]));
  query = 'hash' in by ? query.where('k.key_hash', '=', by.hash) : query.where('k.id', '=', by.id);
  return ((await query.executeTakeFirst()) as KeyInUseRow | undefined) ?? null;
}
