// SQL for deploy tokens and deployments. Tenant queries take the org scope first; the lookup by
// token hash used to authenticate a request is the only one without it (the token names its org).
import { sql } from 'kysely';
import type { Executor, OrgRole, OrgStatus } from '../../db/schema.ts';

export interface DeployTokenInUseRow {
  id: string;
  org_id: string;
  workspace_id: string;
  environment_id: string;
  expires_at: Date | null;
  user_id: string;
  email: string;
  role: OrgRole | null;
  org_name: string;
  org_status: OrgStatus;
}

/** A live deploy token with its creator's current role and its org's status, in one query. */
export async function findLiveDeployToken(db: Executor, hash: string) {
  return (
    ((await db
      .selectFrom('deploy_tokens as t')
      .innerJoin('users as u', 'u.id', 't.created_by_user_id')
      .innerJoin('organizations as o', 'o.id', 't.org_id')
      .leftJoin('memberships as m', (join) =>
        join.onRef('m.org_id', '=', 't.org_id').onRef('m.user_id', '=', 't.created_by_user_id'),
      )
      .select([
        't.id',
        't.org_id',
        't.workspace_id',
        't.environment_id',
        't.expires_at',
        'u.id as user_id',
        'u.email',
        'm.role',
        'o.name as org_name',
        'o.status as org_status',
      ])
      .where('t.token_hash', '=', hash)
      .where('t.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', sql<Date>`now()`)]))
      .executeTakeFirst()) as DeployTokenInUseRow | undefined) ?? null
  );
}

/** Revokes the deploy tokens a user created in an org (they left or were removed). */
export async function revokeDeployTokensOfUser(db: Executor, orgId: string, userId: string) {
  const rows = await db
    .updateTable('deploy_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('created_by_user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}
