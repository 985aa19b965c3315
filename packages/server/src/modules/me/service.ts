// The signed-in user's own profile: name and the "Allow CLI login access" setting (seed 003), which
// the CLI login flow checks both when a request is approved and when its session is handed out.
import type { AppDeps } from '../../app-deps.ts';
import type { Executor } from '../../db/schema.ts';
import type { Actor } from '../../http/principal.ts';
import { meErrors } from './errors.ts';
import { findProfile, lockProfile, type ProfileRow, updateProfile } from './repo.ts';

export function presentProfile(row: ProfileRow) {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    allow_cli_login_access: row.allow_cli_login_access,
    created_at: row.created_at.toISOString(),
  };
}

export async function getMe(deps: AppDeps, actor: Actor) {
  const row = await findProfile(deps.db, actor.principal.userId);
  if (!row) throw meErrors.notFound();
  return presentProfile(row);
}

export async function updateMe(
  deps: AppDeps,
  actor: Actor,
  input: { name?: string | null; allow_cli_login_access?: boolean },
) {
  const fields: { name?: string | null; allow_cli_login_access?: boolean } = {};
  if (input.name !== undefined) fields.name = input.name === null ? null : input.name.trim();
  if (input.allow_cli_login_access !== undefined)
    fields.allow_cli_login_access = input.allow_cli_login_access;
  const row = await updateProfile(deps.db, actor.principal.userId, fields);
  if (!row) throw meErrors.notFound();
  return presentProfile(row);
}

/**
 * Who the user is and whether they allow CLI logins, read in the caller's transaction and
 * share-locked (see lockProfile); null when the user no longer exists.
 */
export async function cliLoginAccessOf(
  trx: Executor,
  userId: string,
): Promise<{ id: string; email: string; allowed: boolean } | null> {
  const row = await lockProfile(trx, userId);
  return row ? { id: row.id, email: row.email, allowed: row.allow_cli_login_access } : null;
}
