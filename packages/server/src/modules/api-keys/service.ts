// API keys (C4): `fl_` secrets shown once and stored as SHA-256, scoped from the catalogue and never
// beyond their creator — at creation (scopes ⊆ the caller's permissions) and at every use (scopes ∩
// the creator's *current* role; the key stops when the creator leaves the org).
import { isGrantable, type Permission, permissionsOf } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import { lockCallingKey } from '../../db/calling-key.ts';
import type { Executor } from '../../db/schema.ts';
import { isExpired, requestedExpiry } from '../../http/expiry.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import { type Actor, apiKeyIdOf, type Principal } from '../../http/principal.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import { newId } from '../../platform/ids.ts';
import { mintToken, tokenStart } from '../../platform/token-format.ts';
import { auditActorOf, recordAudit, recordAuditEach } from '../audit/service.ts';
import { revokeDeployTokensMadeByActor } from '../deployments/service.ts';
import { revokeServiceTokensMadeByKeys } from '../hosted-services/service.ts';
import { requireWorkspace } from '../workspaces/service.ts';
import { apiKeyErrors } from './errors.ts';
import {
  type ApiKeyRow,
  findApiKey,
  findLiveKey,
  insertApiKey,
  type KeyInUseRow,
  listApiKeys,
  revokeApiKeyTree,
  revokeKeysOfUser,
  updateApiKey,
} from './repo.ts';

export interface RateLimitInput {
  requests: number;
  per_seconds: number;
}

export interface NewApiKey {
  name: string;
  description?: string;
  scopes: string[];
  workspace_id?: string;
  expires_at?: string;
  rate_limit?: RateLimitInput;
}

export function presentApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    org_id: row.org_id,
    name: row.name,
    description: row.description,
    key_start: row.key_start,
    scopes: row.scopes,
    workspace_id: row.workspace_id,
    expires_at: row.expires_at?.toISOString() ?? null,
    last_used_at: row.last_used_at?.toISOString() ?? null,
    rate_limit:
      row.rate_limit_requests && row.rate_limit_per_seconds
        ? { requests: row.rate_limit_requests, per_seconds: row.rate_limit_per_seconds }
        : null,
    created_by: { user_id: row.created_by_user_id, api_key_id: row.created_by_api_key_id },
    revoked_at: row.revoked_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

/** A rate-limited key cannot make an unlimited (or looser) key: the limit would be trivially escaped. */
function checkRateLimitWithin(caller: Principal, requested: RateLimitInput | null) {
  const own = caller.rateLimit;
  if (!own) return;
  const within =
    requested !== null && requested.requests * own.windowSeconds <= own.max * requested.per_seconds;
  if (!within) throw apiKeyErrors.rateLimitBeyondCaller(own);
}

/** Scopes must come from the catalogue, and nobody grants what they do not hold themselves. */
function checkScopes(requested: string[], holder: Principal): Permission[] {
  const scopes = [...new Set(requested)];
  const unknown = scopes.filter((scope) => !isGrantable(scope));
  if (unknown.length > 0) throw apiKeyErrors.unknownScopes(unknown);
  const beyond = scopes.filter((scope) => !holder.permissions.has(scope as Permission));
  if (beyond.length > 0) {
    const who = holder.kind === 'user' ? `your role (${holder.role})` : 'the calling key';
    throw apiKeyErrors.scopesExceedCaller(beyond, who);
  }
  return scopes as Permission[];
}

export async function createApiKey(deps: AppDeps, actor: Actor, orgId: string, input: NewApiKey) {
  const { principal } = actor;
  const scopes = checkScopes(input.scopes, principal);
  const expiresAt = requestedExpiry(principal, input.expires_at);
  checkRateLimitWithin(principal, input.rate_limit ?? null);
  const key = mintToken('api_key');
  return deps.db.transaction().execute(async (trx) => {
    await lockCallingKey(trx, orgId, principal);
    const workspaceId = input.workspace_id?.toLowerCase() ?? null;
    if (workspaceId) await requireWorkspace(trx, orgId, workspaceId); // another org's: 404
    const row = await insertApiKey(trx, {
      org_id: orgId,
      id: newId(),
      workspace_id: workspaceId,
      name: input.name.trim(),
      description: input.description ?? null,
      key_hash: sha256Hex(key),
      key_start: tokenStart(key),
      scopes,
      created_by_user_id: principal.userId,
      created_by_api_key_id: apiKeyIdOf(principal),
      rate_limit_requests: input.rate_limit?.requests ?? null,
      rate_limit_per_seconds: input.rate_limit?.per_seconds ?? null,
      expires_at: expiresAt,
    });
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'api_key.created',
      targetType: 'api_key',
      targetId: row.id,
      metadata: { name: row.name, scopes, workspace_id: workspaceId },
    });
    return { ...presentApiKey(row), key };
  });
}

export async function listOrgApiKeys(deps: AppDeps, orgId: string, page: Page, includeRevoked: boolean) {
  return toPage(await listApiKeys(deps.db, orgId, page, includeRevoked), page, presentApiKey);
}

export async function getApiKey(deps: AppDeps, orgId: string, keyId: string) {
  const row = await findApiKey(deps.db, orgId, keyId);
  if (!row) throw apiKeyErrors.notFound();
  return presentApiKey(row);
}

export async function patchApiKey(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  keyId: string,
  input: { name?: string; description?: string | null; rate_limit?: RateLimitInput | null },
) {
  // A rate-limited key could otherwise lift its own limit.
  if (input.rate_limit !== undefined && actor.principal.rateLimit)
    throw apiKeyErrors.rateLimitBeyondCaller(actor.principal.rateLimit);
  const updated = await deps.db.transaction().execute(async (trx) => {
    const fields = {
      ...(input.name !== undefined ? { name: input.name.trim() } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.rate_limit !== undefined
        ? {
            rate_limit_requests: input.rate_limit?.requests ?? null,
            rate_limit_per_seconds: input.rate_limit?.per_seconds ?? null,
          }
        : {}),
    };
    const row = await updateApiKey(trx, orgId, keyId, fields);
    if (!row) throw apiKeyErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'api_key.updated',
      targetType: 'api_key',
      targetId: keyId,
      metadata: { changed: Object.keys(input) },
    });
    return presentApiKey(row);
  });
  deps.caches.forget([`key:${keyId}`]); // after commit: a reload now sees the new rate limit
  return updated;
}

/** Revokes a key and the keys made with it; idempotent for an already-revoked key. */
export async function revokeApiKey(deps: AppDeps, actor: Actor, orgId: string, keyId: string) {
  const revoked = await deps.db.transaction().execute(async (trx) => {
    // Lock the key first: a child being created with it either commits before (and is found by
    // the tree walk, a later statement) or waits and is refused (db/calling-key.ts).
    const row = await findApiKey(trx, orgId, keyId, { forUpdate: true });
    if (!row) throw apiKeyErrors.notFound();
    const ids: string[] = [];
    // Each walk is a new statement with a fresh view; repeat until nothing new is found (a
    // grandchild committed by a creation that was waiting on its own parent's lock).
    for (let round = 0; round < 10; round++) {
      const found = await revokeApiKeyTree(trx, orgId, keyId);
      if (found.length === 0) break;
      ids.push(...found);
    }
    return recordRevocations(trx, actor, orgId, ids, (id) =>
      id === keyId ? {} : { reason: 'parent_key_revoked', parent_api_key_id: keyId },
    );
  });
  deps.caches.forget(revoked.map((id) => `key:${id}`));
}

/** A member leaving or removed: the keys they created stop for good (inside the removal's transaction). */
export async function revokeKeysCreatedBy(trx: Executor, actor: Actor, orgId: string, userId: string) {
  const ids = await revokeKeysOfUser(trx, orgId, userId);
  return recordRevocations(trx, actor, orgId, ids, () => ({ reason: 'creator_left_org', user_id: userId }));
}

/**
 * Audits each revoked key and revokes what those keys made (deploy and service tokens), so a leaked
 * key leaves nothing behind. Returns every credential id that stopped, for cache invalidation.
 */
async function recordRevocations(
  trx: Executor,
  actor: Actor,
  orgId: string,
  keyIds: string[],
  metadataOf: (id: string) => Record<string, unknown>,
): Promise<string[]> {
  await recordAuditEach(trx, orgId, auditActorOf(actor), keyIds, (id) => ({
    action: 'api_key.revoked',
    targetType: 'api_key',
    targetId: id,
    metadata: metadataOf(id),
  }));
  if (keyIds.length === 0) return [];
  const deployTokens = await revokeDeployTokensMadeByActor(trx, actor, orgId, { apiKeyIds: keyIds });
  const serviceTokens = await revokeServiceTokensMadeByKeys(trx, actor, orgId, keyIds);
  return [...keyIds, ...deployTokens, ...serviceTokens];
}

// ── authentication ───────────────────────────────────────────────────────────────────────────

const CACHE = { name: 'api-keys', maxEntries: 100_000, maxAgeMs: 10 * 60_000 };

function principalOf(row: KeyInUseRow): Principal | null {
  if (!row.role) return null; // the creator left the org: the key stops
  const held = permissionsOf(row.role);
  const permissions = new Set(row.scopes.filter((scope) => held.has(scope as Permission)) as Permission[]);
  return {
    kind: 'api_key',
    userId: row.user_id,
    email: row.email,
    orgId: row.org_id,
    orgName: row.org_name,
    orgStatus: row.org_status,
    role: row.role,
    permissions,
    credential: { type: 'api_key', id: row.id },
    sessionId: null,
    isPlatformAdmin: false,
    workspaceId: row.workspace_id,
    environmentId: null,
    expiresAt: row.expires_at?.getTime() ?? null,
    rateLimit:
      row.rate_limit_requests && row.rate_limit_per_seconds
        ? {
            bucket: `api_key:${row.id}`,
            max: row.rate_limit_requests,
            windowSeconds: row.rate_limit_per_seconds,
          }
        : null,
  };
}

function apiKeyCache(deps: AppDeps) {
  return deps.caches.named<Principal>(CACHE.name, CACHE.maxEntries, CACHE.maxAgeMs);
}

function inUse(deps: AppDeps, principal: Principal | null): Principal | null {
  if (!principal || isExpired(principal)) return null;
  deps.lastUsed.touch('api_keys', principal.credential.id);
  return principal;
}

/** The key's principal if this node has it cached (null once expired), else undefined. */
export function knownApiKeyPrincipal(deps: AppDeps, hash: string): Principal | null | undefined {
  const cached = apiKeyCache(deps).get(`h:${hash}`);
  return cached === undefined ? undefined : inUse(deps, cached);
}

/**
 * The principal of a live key, by its secret's hash (X-API-Key) or by id (a JWT exchanged for it);
 * cached, and dropped on every node when the key, its creator's membership or its org changes.
 */
export async function apiKeyPrincipal(deps: AppDeps, by: { hash: string } | { id: string }) {
  const cacheKey = 'hash' in by ? `h:${by.hash}` : `i:${by.id}`;
  const principal = await apiKeyCache(deps).getOrLoad(cacheKey, async () => {
    const row = await findLiveKey(deps.db, by);
    const found = row && principalOf(row);
    if (!row || !found) return null;
    return { value: found, tags: [`key:${row.id}`, `org:${row.org_id}`, `user:${row.user_id}`] };
  });
  return inUse(deps, principal);
}
