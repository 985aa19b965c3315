// Deploy tokens (`fl_deploy_`, seed 003) are bound to one environment and reach only the deployment
// routes of that environment (routes that list 'deploy_token' in `config.allow`). They act with at
// most DEPLOY_TOKEN_PERMISSIONS, bounded by their creator's current role, and stop when the creator
// leaves the org.
import { type Permission, permissionsOf } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import type { Executor } from '../../db/schema.ts';
import type { Actor, Principal } from '../../http/principal.ts';
import { auditActorOf, recordAudit } from '../audit/service.ts';
import { type DeployTokenInUseRow, findLiveDeployToken, revokeDeployTokensOfUser } from './repo.ts';

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

/** The principal of a live deploy token by its secret's hash; cached like API keys. */
export async function deployTokenPrincipal(deps: AppDeps, hash: string): Promise<Principal | null> {
  const cache = deps.caches.named<Principal>(CACHE.name, CACHE.maxEntries, CACHE.maxAgeMs);
  const principal = await cache.getOrLoad(`h:${hash}`, async () => {
    const row = await findLiveDeployToken(deps.db, hash);
    const found = row && principalOf(row);
    if (!row || !found) return null;
    return { value: found, tags: [`key:${row.id}`, `org:${row.org_id}`, `user:${row.user_id}`] };
  });
  if (!principal || (principal.expiresAt !== null && principal.expiresAt <= Date.now())) return null;
  deps.lastUsed.touch('deploy_tokens', principal.credential.id);
  return principal;
}

/** A member leaving or removed: the deploy tokens they created stop for good (in the removal's transaction). */
export async function revokeDeployTokensCreatedBy(
  trx: Executor,
  actor: Actor,
  orgId: string,
  userId: string,
) {
  const ids = await revokeDeployTokensOfUser(trx, orgId, userId);
  for (const id of ids) {
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'deploy_token.revoked',
      targetType: 'deploy_token',
      targetId: id,
      metadata: { reason: 'creator_left_org', user_id: userId },
    });
  }
  return ids;
}
