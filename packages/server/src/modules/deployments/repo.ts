// SQL for deploy tokens and deployments. Tenant queries take the org scope first; the lookup by
// token hash used to authenticate a request is the only one without it (the token names its org).
import { sql } from 'kysely';
import type {
  DeploymentStatus,
  DeploymentsTable,
  DeployTokensTable,
  Executor,
  Insertable,
  OrgRole,
  OrgStatus,
  Selectable,
} from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export type DeployTokenRow = Selectable<DeployTokensTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;

/** Where a deploy token or deployment lives: every query below is scoped by all three. */
export interface EnvironmentScope {
  orgId: string;
  workspaceId: string;
  environmentId: string;
}

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

/**
 * Revokes the live deploy tokens a user created in an org (they left or were removed), or that were
 * created with any of these API keys (the keys were revoked); returns their ids.
 */
export async function revokeDeployTokensMadeBy(
  db: Executor,
  orgId: string,
  by: { userId: string } | { apiKeyIds: string[] },
) {
  let query = db
    .updateTable('deploy_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('revoked_at', 'is', null);
  query =
    'userId' in by
      ? query.where('created_by_user_id', '=', by.userId)
      : query.where('created_by_api_key_id', 'in', by.apiKeyIds);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

// ── deploy tokens (tenant queries) ─────────────────────────────────────────────────────────────

export async function insertDeployToken(db: Executor, token: Insertable<DeployTokensTable>) {
  return (await db
    .insertInto('deploy_tokens')
    .values(token)
    .returningAll()
    .executeTakeFirstOrThrow()) as DeployTokenRow;
}

export async function listDeployTokens(
  db: Executor,
  scope: EnvironmentScope,
  page: Page,
  includeRevoked: boolean,
) {
  let query = db
    .selectFrom('deploy_tokens')
    .selectAll()
    .where('org_id', '=', scope.orgId)
    .where('workspace_id', '=', scope.workspaceId)
    .where('environment_id', '=', scope.environmentId);
  if (!includeRevoked) query = query.where('revoked_at', 'is', null);
  if (page.after) query = query.where('id', '>', page.after);
  return (await query
    .orderBy('id')
    .limit(page.limit + 1)
    .execute()) as DeployTokenRow[];
}

export async function findDeployToken(db: Executor, scope: EnvironmentScope, tokenId: string) {
  return (
    ((await db
      .selectFrom('deploy_tokens')
      .selectAll()
      .where('org_id', '=', scope.orgId)
      .where('workspace_id', '=', scope.workspaceId)
      .where('environment_id', '=', scope.environmentId)
      .where('id', '=', tokenId)
      .executeTakeFirst()) as DeployTokenRow | undefined) ?? null
  );
}

/** Revokes one token unless it already is; true when this call revoked it. */
export async function revokeDeployToken(db: Executor, scope: EnvironmentScope, tokenId: string) {
  const row = await db
    .updateTable('deploy_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', scope.orgId)
    .where('workspace_id', '=', scope.workspaceId)
    .where('environment_id', '=', scope.environmentId)
    .where('id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

// ── deployments ────────────────────────────────────────────────────────────────────────────────

export async function insertDeployment(db: Executor, deployment: Insertable<DeploymentsTable>) {
  return (await db
    .insertInto('deployments')
    .values(deployment)
    .returningAll()
    .executeTakeFirstOrThrow()) as DeploymentRow;
}

export async function listDeployments(
  db: Executor,
  scope: EnvironmentScope,
  page: Page,
  status: DeploymentStatus | undefined,
) {
  let query = db
    .selectFrom('deployments')
    .selectAll()
    .where('org_id', '=', scope.orgId)
    .where('workspace_id', '=', scope.workspaceId)
    .where('environment_id', '=', scope.environmentId);
  if (status) query = query.where('status', '=', status);
  if (page.after) query = query.where('id', '>', page.after);
  return (await query
    .orderBy('id')
    .limit(page.limit + 1)
    .execute()) as DeploymentRow[];
}

/** One deployment of the environment; `lock` holds it (FOR UPDATE) for a status change. */
export async function findDeployment(
  db: Executor,
  scope: EnvironmentScope,
  deploymentId: string,
  lock = false,
) {
  let query = db
    .selectFrom('deployments')
    .selectAll()
    .where('org_id', '=', scope.orgId)
    .where('workspace_id', '=', scope.workspaceId)
    .where('environment_id', '=', scope.environmentId)
    .where('id', '=', deploymentId);
  if (lock) query = query.forUpdate();
  return ((await query.executeTakeFirst()) as DeploymentRow | undefined) ?? null;
}

export interface DeploymentWrite {
  status?: DeploymentStatus;
  description?: string | null;
  metadata?: string;
}

export async function updateDeployment(
  db: Executor,
  scope: EnvironmentScope,
  deploymentId: string,
  fields: DeploymentWrite,
) {
  return (
    ((await db
      .updateTable('deployments')
      .set({ ...fields, updated_at: sql<Date>`now()` })
      .where('org_id', '=', scope.orgId)
      .where('workspace_id', '=', scope.workspaceId)
      .where('environment_id', '=', scope.environmentId)
      .where('id', '=', deploymentId)
      .returningAll()
      .executeTakeFirst()) as DeploymentRow | undefined) ?? null
  );
}
