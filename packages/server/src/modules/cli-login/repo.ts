// SQL for CLI login requests. Not tenant-scoped: a request belongs to no org until a signed-in user
// approves it, and is addressed by its id plus its secret (or by its one-time token's hash).
// Every state change is one conditional UPDATE, so racing callers cannot both win a transition.
import { sql } from 'kysely';
import type { CliLoginRequestsTable, Executor, Insertable, Selectable } from '../../db/schema.ts';

export type CliLoginRequestRow = Selectable<CliLoginRequestsTable> & {
  /** Past expires_at by the database's clock (a consumed request is consumed, expired or not). */
  expired: boolean;
};

const EXPIRED = sql<boolean>`expires_at <= now()`.as('expired');

export async function insertCliLoginRequest(db: Executor, request: Insertable<CliLoginRequestsTable>) {
  await db.insertInto('cli_login_requests').values(request).execute();
}

export async function findCliLoginRequest(db: Executor, id: string) {
  return (
    ((await db
      .selectFrom('cli_login_requests')
      .selectAll()
      .select(EXPIRED)
      .where('id', '=', id)
      .executeTakeFirst()) as CliLoginRequestRow | undefined) ?? null
  );
}

export async function findCliLoginRequestByToken(db: Executor, tokenHash: string) {
  return (
    ((await db
      .selectFrom('cli_login_requests')
      .selectAll()
      .select(EXPIRED)
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst()) as CliLoginRequestRow | undefined) ?? null
  );
}

/** pending → approved, if it still is pending and unexpired; the new expiry, or null. */
export async function approveCliLoginRequest(
  db: Executor,
  id: string,
  approval: { userId: string; orgId: string | null; tokenHash: string },
) {
  const row = await db
    .updateTable('cli_login_requests')
    .set({
      status: 'approved',
      approved_by_user_id: approval.userId,
      org_id: approval.orgId,
      token_hash: approval.tokenHash,
      approved_at: sql<Date>`now()`,
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('expires_at', '>', sql<Date>`now()`)
    .returning('expires_at')
    .executeTakeFirst();
  return row?.expires_at ?? null;
}

export interface ClaimedRequest {
  id: string;
  approved_by_user_id: string;
  org_id: string | null;
  client_name: string | null;
}

/**
 * approved → consumed, atomically: of any number of concurrent polls and token redemptions of one
 * request, exactly one gets the row back. Only an unexpired approved request qualifies.
 */
export async function consumeCliLoginRequest(db: Executor, by: { id: string } | { tokenHash: string }) {
  let query = db
    .updateTable('cli_login_requests')
    .set({ status: 'consumed', consumed_at: sql<Date>`now()` })
    .where('status', '=', 'approved')
    .where('expires_at', '>', sql<Date>`now()`);
  query = 'id' in by ? query.where('id', '=', by.id) : query.where('token_hash', '=', by.tokenHash);
  return (
    ((await query.returning(['id', 'approved_by_user_id', 'org_id', 'client_name']).executeTakeFirst()) as
      | ClaimedRequest
      | undefined) ?? null
  );
}

/** Deletes up to `batch` requests that expired more than `ageSeconds` ago. */
export async function deleteStaleCliLoginRequests(db: Executor, ageSeconds: number, batch: number) {
  await db
    .deleteFrom('cli_login_requests')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('cli_login_requests')
        .select('id')
        .where('expires_at', '<', sql<Date>`now() - make_interval(secs => ${ageSeconds})`)
        .limit(batch)
        // Concurrent sweeps (every node, every new request) skip each other's rows instead of waiting.
        .forUpdate()
        .skipLocked(),
    )
    .execute();
}
