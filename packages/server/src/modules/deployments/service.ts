// Deploy tokens (`fl_deploy_`, seed 003) are bound to one environment and reach only the deployment
// routes of that environment (routes that list 'deploy_token' in `config.allow`). They act with at
// most DEPLOY_TOKEN_PERMISSIONS, bounded by their creator's current role, and stop when the creator
// leaves the org. Deployments are the records of what was deployed where, by whom (a user, an API key
// or a deploy token); a finished deployment's status is final.
import { type Permission, permissionsOf } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import { lockCallingKey } from '../../db/calling-key.ts';
import type { DeploymentStatus, Executor } from '../../db/schema.ts';
import { isExpired, requestedExpiry } from '../../http/expiry.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import { type Actor, apiKeyIdOf, type Principal } from '../../http/principal.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import { newId } from '../../platform/ids.ts';
import { mintToken, tokenStart } from '../../platform/token-format.ts';
import { auditActorOf, recordAudit, recordAuditEach } from '../audit/service.ts';
import { requireEnvironment } from '../environments/service.ts';
import { deploymentErrors } from './errors.ts';
import {
  type DeploymentRow,
  type DeploymentWrite,
  type DeployTokenInUseRow,
  type DeployTokenRow,
  type EnvironmentScope,
  findDeployment,
  findDeployToken,
  findLiveDeployToken,
  insertDeployment,
  insertDeployToken,
  listDeployments,
  listDeployTokens,
  revokeDeployToken,
  revokeDeployTokensMadeBy,
  updateDeployment,
} from './repo.ts';

export type { EnvironmentScope } from './repo.ts';

export const DEPLOY_TOKEN_PERMISSIONS: readonly Permission[] = [
  'read:environments',
  'read:deployments',
  'write:deployments',
];

// ── authentication ───────────────────────────────────────────────────────────────────────────

const CACHE = { name: 'deploy-tokens', maxEntries: 100_000, maxAgeMs: 10 * 60_000 };

function principalOf(row: DeployTokenInUseRow): Principal | null {
  if (!row.role) return null;
  const held = permissionsOf(row.role);
  return {
    kind: 'deploy_token',
    userId: row.user_id,
    email: row.email,
    orgId: row.org_id,
    orgName: row.org_name,
    orgStatus: row.org_status,
    role: row.role,
    permissions: new Set(DEPLOY_TOKEN_PERMISSIONS.filter((permission) => held.has(permission))),
    credential: { type: 'deploy_token', id: row.id },
    sessionId: null,
    isPlatformAdmin: false,
    workspaceId: row.workspace_id,
    environmentId: row.environment_id,
    expiresAt: row.expires_at?.getTime() ?? null,
    rateLimit: null,
  };
}

function deployTokenCache(deps: AppDeps) {
  return deps.caches.named<Principal>(CACHE.name, CACHE.maxEntries, CACHE.maxAgeMs);
}

function inUse(deps: AppDeps, principal: Principal | null): Principal | null {
  if (!principal || isExpired(principal)) return null;
  deps.lastUsed.touch('deploy_tokens', principal.credential.id);
  return principal;
}

/** The token's principal if this node has it cached (null once expired), else undefined. */
export function knownDeployTokenPrincipal(deps: AppDeps, hash: string): Principal | null | undefined {
  const cached = deployTokenCache(deps).get(`h:${hash}`);
  return cached === undefined ? undefined : inUse(deps, cached);
}

/** The principal of a live deploy token by its secret's hash; cached like API keys. */
export async function deployTokenPrincipal(deps: AppDeps, hash: string): Promise<Principal | null> {
  const principal = await deployTokenCache(deps).getOrLoad(`h:${hash}`, async () => {
    const row = await findLiveDeployToken(deps.db, hash);
    const found = row && principalOf(row);
    if (!row || !found) return null;
    return { value: found, tags: [`key:${row.id}`, `org:${row.org_id}`, `user:${row.user_id}`] };
  });
  return inUse(deps, principal);
}

/**
 * Deploy tokens stop for good when their creator leaves the org or the API key they were created
 * with is revoked (inside that change's transaction); each revocation is audited.
 */
export async function revokeDeployTokensMadeByActor(
  trx: Executor,
  actor: Actor,
  orgId: string,
  by: { userId: string } | { apiKeyIds: string[] },
) {
  const ids = await revokeDeployTokensMadeBy(trx, orgId, by);
  const metadata =
    'userId' in by ? { reason: 'creator_left_org', user_id: by.userId } : { reason: 'api_key_revoked' };
  await recordAuditEach(trx, orgId, auditActorOf(actor), ids, (id) => ({
    action: 'deploy_token.revoked',
    targetType: 'deploy_token',
    targetId: id,
    metadata,
  }));
  return ids;
}

// ── shared ───────────────────────────────────────────────────────────────────────────────────

/** The environment within the org and workspace, or 404 (in the caller's transaction). */
function environmentOf(db: Executor, scope: EnvironmentScope) {
  return requireEnvironment(db, scope.orgId, scope.workspaceId, scope.environmentId);
}

// ── deploy tokens ────────────────────────────────────────────────────────────────────────────

export interface NewDeployToken {
  name: string;
  expires_at?: string;
}

export function presentDeployToken(row: DeployTokenRow) {
  return {
    id: row.id,
    org_id: row.org_id,
    workspace_id: row.workspace_id,
    environment_id: row.environment_id,
    name: row.name,
    token_start: row.token_start,
    expires_at: row.expires_at?.toISOString() ?? null,
    last_used_at: row.last_used_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    created_by: { user_id: row.created_by_user_id },
    created_at: row.created_at.toISOString(),
  };
}

/** Mints an `fl_deploy_` token for the environment: the secret is returned this once, stored as SHA-256. */
export async function createDeployToken(
  deps: AppDeps,
  actor: Actor,
  scope: EnvironmentScope,
  input: NewDeployToken,
) {
  const expiresAt = requestedExpiry(actor.principal, input.expires_at);
  const token = mintToken('deploy_token');
  return deps.db.transaction().execute(async (trx) => {
    await lockCallingKey(trx, scope.orgId, actor.principal);
    const environment = await environmentOf(trx, scope);
    const row = await insertDeployToken(trx, {
      org_id: scope.orgId,
      workspace_id: environment.workspace_id,
      environment_id: environment.id,
      id: newId(),
      name: input.name.trim(),
      token_hash: sha256Hex(token),
      token_start: tokenStart(token),
      created_by_user_id: actor.principal.userId,
      created_by_api_key_id: apiKeyIdOf(actor.principal),
      expires_at: expiresAt,
    });
    await recordAudit(trx, scope.orgId, auditActorOf(actor), {
      action: 'deploy_token.created',
      targetType: 'deploy_token',
      targetId: row.id,
      metadata: {
        name: row.name,
        workspace_id: row.workspace_id,
        environment_id: row.environment_id,
        expires_at: row.expires_at?.toISOString() ?? null,
      },
    });
    return { ...presentDeployToken(row), token };
  });
}

export async function listEnvironmentDeployTokens(
  deps: AppDeps,
  scope: EnvironmentScope,
  page: Page,
  includeRevoked: boolean,
) {
  await environmentOf(deps.db, scope);
  return toPage(await listDeployTokens(deps.db, scope, page, includeRevoked), page, presentDeployToken);
}

/** Revokes a deploy token (idempotent: an already-revoked one stays as it was); 404 if unknown. */
export async function revokeEnvironmentDeployToken(
  deps: AppDeps,
  actor: Actor,
  scope: EnvironmentScope,
  tokenId: string,
) {
  const revokedId = await deps.db.transaction().execute(async (trx) => {
    const row = await findDeployToken(trx, scope, tokenId);
    if (!row) throw deploymentErrors.tokenNotFound();
    if (!(await revokeDeployToken(trx, scope, row.id))) return null;
    await recordAudit(trx, scope.orgId, auditActorOf(actor), {
      action: 'deploy_token.revoked',
      targetType: 'deploy_token',
      targetId: row.id,
      metadata: { name: row.name, workspace_id: row.workspace_id, environment_id: row.environment_id },
    });
    return row.id;
  });
  // Committed: this node stops accepting the token now (others when the change feed tells them).
  if (revokedId) deps.caches.forget([`key:${revokedId}`]);
}

// ── deployments ──────────────────────────────────────────────────────────────────────────────

const FINISHED: readonly DeploymentStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface NewDeployment {
  version: string;
  description?: string;
  metadata?: Record<string, unknown>;
  status?: DeploymentStatus;
}

export interface DeploymentChange {
  status?: DeploymentStatus;
  description?: string | null;
  metadata?: Record<string, unknown>;
}

export function presentDeployment(row: DeploymentRow) {
  return {
    id: row.id,
    org_id: row.org_id,
    workspace_id: row.workspace_id,
    environment_id: row.environment_id,
    version: row.version,
    description: row.description,
    status: row.status,
    metadata: row.metadata,
    created_by: {
      type: row.created_by_type as 'user' | 'api_key' | 'deploy_token',
      id: row.created_by_id,
    },
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** Who records a deployment: the user, the API key (also behind a JWT exchanged for it) or the deploy token. */
function recorderOf(principal: Principal) {
  switch (principal.kind) {
    case 'user':
      return { type: 'user' as const, id: principal.userId };
    case 'api_key':
      return { type: 'api_key' as const, id: principal.credential.api_key_id ?? principal.credential.id };
    case 'deploy_token':
      return { type: 'deploy_token' as const, id: principal.credential.id };
  }
}

export async function createDeployment(
  deps: AppDeps,
  actor: Actor,
  scope: EnvironmentScope,
  input: NewDeployment,
) {
  const recorder = recorderOf(actor.principal);
  return deps.db.transaction().execute(async (trx) => {
    const environment = await environmentOf(trx, scope);
    const row = await insertDeployment(trx, {
      org_id: scope.orgId,
      workspace_id: environment.workspace_id,
      environment_id: environment.id,
      id: newId(),
      version: input.version.trim(),
      description: input.description ?? null,
      status: input.status ?? 'pending',
      metadata: JSON.stringify(input.metadata ?? {}),
      created_by_type: recorder.type,
      created_by_id: recorder.id,
    });
    await recordAudit(trx, scope.orgId, auditActorOf(actor), {
      action: 'deployment.created',
      targetType: 'deployment',
      targetId: row.id,
      metadata: {
        workspace_id: row.workspace_id,
        environment_id: row.environment_id,
        version: row.version,
        status: row.status,
      },
    });
    return presentDeployment(row);
  });
}

export async function listEnvironmentDeployments(
  deps: AppDeps,
  scope: EnvironmentScope,
  page: Page,
  status: DeploymentStatus | undefined,
) {
  await environmentOf(deps.db, scope);
  return toPage(await listDeployments(deps.db, scope, page, status), page, presentDeployment);
}

export async function getDeployment(deps: AppDeps, scope: EnvironmentScope, deploymentId: string) {
  const row = await findDeployment(deps.db, scope, deploymentId);
  if (!row) throw deploymentErrors.deploymentNotFound();
  return presentDeployment(row);
}

/** Updates status, description or metadata; a finished deployment's status never changes (409). */
export async function patchDeployment(
  deps: AppDeps,
  actor: Actor,
  scope: EnvironmentScope,
  deploymentId: string,
  input: DeploymentChange,
) {
  return deps.db.transaction().execute(async (trx) => {
    // Locked: two updates racing to finish a deployment are decided one after the other.
    const current = await findDeployment(trx, scope, deploymentId, true);
    if (!current) throw deploymentErrors.deploymentNotFound();
    const statusChanges = input.status !== undefined && input.status !== current.status;
    if (statusChanges && FINISHED.includes(current.status)) throw deploymentErrors.finished(current.status);
    const fields: DeploymentWrite = {};
    if (input.status !== undefined) fields.status = input.status;
    if (input.description !== undefined) fields.description = input.description;
    if (input.metadata !== undefined) fields.metadata = JSON.stringify(input.metadata);
    const row = await updateDeployment(trx, scope, current.id, fields);
    if (!row) throw deploymentErrors.deploymentNotFound();
    await recordAudit(trx, scope.orgId, auditActorOf(actor), {
      action: 'deployment.updated',
      targetType: 'deployment',
      targetId: row.id,
      metadata: {
        workspace_id: row.workspace_id,
        environment_id: row.environment_id,
        changed: Object.keys(input),
        ...(statusChanges ? { status: { from: current.status, to: row.status } } : {}),
      },
    });
    return presentDeployment(row);
  });
}
