// SQL for users, sign-in sessions (refresh-token families) and refresh tokens.
import { sql } from 'kysely';
import type { Executor, OrgRole, OrgStatus } from '../../db/schema.ts';

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  password_hash: string;
  allow_cli_login_access: boolean;
  created_at: Date;
}

/** Inserts the user unless the email (case-insensitive) is taken; null then. */
export async function insertUser(
  db: Executor,
  user: { id: string; email: string; name: string | null; password_hash: string; created_on_server: boolean },
) {
  const row = await db
    .insertInto('users')
    .values(user)
    .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
    .returningAll()
    .executeTakeFirst();
  return (row as UserRow | undefined) ?? null;
}

export async function findUserByEmail(db: Executor, email: string) {
  return (
    ((await db
      .selectFrom('users')
      .selectAll()
      .where(sql`lower(email)`, '=', email.toLowerCase())
      .executeTakeFirst()) as UserRow | undefined) ?? null
  );
}

/**
 * The user's membership, share-locked: a session started in this transaction cannot slip past a
 * concurrent removal (the removal waits, then revokes the new session with the others).
 */
export async function lockMembership(db: Executor, orgId: string, userId: string) {
  return (
    (await db
      .selectFrom('memberships')
      .select('role')
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .forShare()
      .executeTakeFirst()) ?? null
  );
}

/** The org a session starts in when none is asked for: the user's oldest membership. */
export async function defaultOrgOf(db: Executor, userId: string): Promise<string | null> {
  const row = await db
    .selectFrom('memberships')
    .select('org_id')
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('org_id')
    .limit(1)
    .executeTakeFirst();
  return row?.org_id ?? null;
}

export async function insertFamily(
  db: Executor,
  family: { id: string; root_id: string; user_id: string; org_id: string | null; expires_at: Date },
) {
  await db.insertInto('refresh_token_families').values(family).execute();
}

/** The sign-in a session belongs to: its root id and absolute expiry. */
/**
 * The live sign-in a session belongs to, share-locked: a child session started in this
 * transaction and a concurrent logout (which locks the root for update) cannot interleave, so the
 * child is either refused or seen and revoked. Null when the sign-in has ended.
 */
export async function lockLiveSessionRoot(db: Executor, sessionId: string) {
  return (
    (await db
      .selectFrom('refresh_token_families as root')
      .select(['root.id as root_id', 'root.expires_at'])
      .where('root.id', '=', (eb) =>
        eb.selectFrom('refresh_token_families').select('root_id').where('id', '=', sessionId),
      )
      .where('root.revoked_at', 'is', null)
      .where('root.expires_at', '>', sql<Date>`now()`)
      .forShare()
      .executeTakeFirst()) ?? null
  );
}

export async function insertRefreshToken(
  db: Executor,
  token: { id: string; family_id: string; token_hash: string; expires_at: Date },
) {
  await db.insertInto('refresh_tokens').values(token).execute();
}

/**
 * Marks a refresh token used, atomically: of any number of concurrent calls with one token, exactly
 * one gets the row back. Only a live token (unused, unexpired, family not revoked) qualifies.
 */
export async function consumeRefreshToken(db: Executor, tokenHash: string) {
  return (
    (await db
      .updateTable('refresh_tokens as t')
      .from('refresh_token_families as f')
      .set({ used_at: sql<Date>`now()` })
      .whereRef('f.id', '=', 't.family_id')
      .where('t.token_hash', '=', tokenHash)
      .where('t.used_at', 'is', null)
      .where('t.expires_at', '>', sql<Date>`now()`)
      .where('f.revoked_at', 'is', null)
      .where('f.expires_at', '>', sql<Date>`now()`)
      .returning(['t.family_id', 'f.user_id', 'f.org_id', 'f.expires_at'])
      .executeTakeFirst()) ?? null
  );
}

export async function findRefreshToken(db: Executor, tokenHash: string) {
  return (
    (await db
      .selectFrom('refresh_tokens as t')
      .innerJoin('refresh_token_families as f', 'f.id', 't.family_id')
      .select(['t.family_id', 't.used_at', 'f.root_id', 'f.user_id', 'f.org_id', 'f.revoked_at'])
      .where('t.token_hash', '=', tokenHash)
      .executeTakeFirst()) ?? null
  );
}

/** Ends a sign-in: every session in its tree (the login and each org switch made from it). */
export async function revokeSessionTree(db: Executor, rootId: string, reason: string): Promise<string[]> {
  // Lock the root first: sessions being started from it finish (and are revoked below) or wait
  // and then find the sign-in ended. Needs to run inside a transaction.
  await db.selectFrom('refresh_token_families').select('id').where('id', '=', rootId).forUpdate().execute();
  const revoked = await db
    .updateTable('refresh_token_families')
    .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
    .where('root_id', '=', rootId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute();
  return revoked.map((row) => row.id);
}

export interface CallerRow {
  id: string;
  email: string;
  created_on_server: boolean;
  role: OrgRole | null;
  org_name: string | null;
  org_status: OrgStatus | null;
  session_revoked: boolean;
  /** When the sign-in ends (absolute); no row changes then, so a cached principal checks it itself. */
  session_expires_at: Date | null;
}

/**
 * Everything needed to authorise one request, in one indexed query: the user, their current role
 * in the token's org (so a demotion or removal takes effect at once), the org's status, and
 * whether the token's session was ended (logout, reuse detection).
 */
export async function findCaller(
  db: Executor,
  userId: string,
  orgId: string | null,
  sessionId: string | null,
) {
  const row = await db
    .selectFrom('users as u')
    .leftJoin('memberships as m', (join) => join.onRef('m.user_id', '=', 'u.id').on('m.org_id', '=', orgId))
    .leftJoin('organizations as o', 'o.id', 'm.org_id')
    .leftJoin('refresh_token_families as f', (join) =>
      join.on('f.id', '=', sessionId).onRef('f.user_id', '=', 'u.id'),
    )
    .select([
      'u.id',
      'u.email',
      'u.created_on_server',
      'm.role',
      'o.name as org_name',
      'o.status as org_status',
      sql<boolean>`(${sessionId}::uuid IS NOT NULL AND (f.id IS NULL OR f.revoked_at IS NOT NULL OR f.expires_at <= now()))`.as(
        'session_revoked',
      ),
      'f.expires_at as session_expires_at',
    ])
    .where('u.id', '=', userId)
    .executeTakeFirst();
  return (row as CallerRow | undefined) ?? null;
}
