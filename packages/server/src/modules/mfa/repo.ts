// SQL for user_totp: one TOTP enrolment per user, its secret sealed by the master key.
import { sql } from 'kysely';
import type { Executor } from '../../db/schema.ts';

export interface TotpRow {
  user_id: string;
  secret_sealed: string;
  confirmed_at: Date | null;
}

export async function findTotp(db: Executor, userId: string): Promise<TotpRow | null> {
  return (
    (await db
      .selectFrom('user_totp')
      .select(['user_id', 'secret_sealed', 'confirmed_at'])
      .where('user_id', '=', userId)
      .executeTakeFirst()) ?? null
  );
}

/**
 * A new (unconfirmed) enrolment, replacing an unconfirmed one in the same statement; false when a
 * confirmed enrolment exists (left untouched).
 */
export async function upsertUnconfirmedTotp(db: Executor, userId: string, secretSealed: string) {
  const row = await db
    .insertInto('user_totp')
    .values({ user_id: userId, secret_sealed: secretSealed })
    .onConflict((oc) =>
      oc
        .column('user_id')
        .doUpdateSet({ secret_sealed: secretSealed, last_used_step: null, created_at: sql<Date>`now()` })
        .where('user_totp.confirmed_at', 'is', null),
    )
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Confirms the enrolment whose secret was checked (a concurrent re-enrolment makes this a no-op). */
export async function confirmTotp(db: Executor, userId: string, secretSealed: string) {
  const row = await db
    .updateTable('user_totp')
    .set({ confirmed_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('secret_sealed', '=', secretSealed)
    .where('confirmed_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Records `step` as used, only if it is later than the last one used: true when this call took it,
 * false for a replay (or a code older than one already accepted).
 */
export async function consumeTotpStep(db: Executor, userId: string, step: number) {
  const row = await db
    .updateTable('user_totp')
    .set({ last_used_step: step })
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .returning('user_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function deleteConfirmedTotp(db: Executor, userId: string) {
  const result = await db
    .deleteFrom('user_totp')
    .where('user_id', '=', userId)
    .where('confirmed_at', 'is not', null)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
