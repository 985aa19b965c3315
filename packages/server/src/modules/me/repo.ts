// SQL for the signed-in user's own profile (the users table, by the user's id only).
import { sql } from 'kysely';
import type { Executor } from '../../db/schema.ts';

export interface ProfileRow {
  id: string;
  email: string;
  name: string | null;
  allow_cli_login_access: boolean;
  created_at: Date;
}

const PROFILE = ['id', 'email', 'name', 'allow_cli_login_access', 'created_at'] as const;

export async function findProfile(db: Executor, userId: string) {
  return (
    ((await db.selectFrom('users').select(PROFILE).where('id', '=', userId).executeTakeFirst()) as
      | ProfileRow
      | undefined) ?? null
  );
}

export async function updateProfile(
  db: Executor,
  userId: string,
  fields: { name?: string | null; allow_cli_login_access?: boolean },
) {
  return (
    ((await db
      .updateTable('users')
      .set({ ...fields, updated_at: sql<Date>`now()` })
      .where('id', '=', userId)
      .returning(PROFILE)
      .executeTakeFirst()) as ProfileRow | undefined) ?? null
  );
}

/**
 * The profile, share-locked: a flow that acts on the user's settings (a CLI login being handed out)
 * and a concurrent change of them (turning CLI login access off) cannot interleave.
 */
export async function lockProfile(db: Executor, userId: string) {
  return (
    ((await db.selectFrom('users').select(PROFILE).where('id', '=', userId).forShare().executeTakeFirst()) as
      | ProfileRow
      | undefined) ?? null
  );
}
