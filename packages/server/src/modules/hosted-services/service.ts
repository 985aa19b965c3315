// Hosted services (seed 003 HSL) are a workspace resource; each can mint `fl_hsl_` service tokens
// bound to it, with custom claims and a TTL. A hosted service verifies a token it receives by
// introspection (POST /api/v1/auth/introspect).
import type { AppDeps } from '../../app-deps.ts';
import { lockCallingKey } from '../../db/calling-key.ts';
import type { Executor } from '../../db/schema.ts';
import { callerExpiry } from '../../http/expiry.ts';
import { type Page, toPage } from '../../http/pagination.ts';
import { type Actor, apiKeyIdOf } from '../../http/principal.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import { newId } from '../../platform/ids.ts';
import { mintToken } from '../../platform/token-format.ts';
import { auditActorOf, recordAudit, recordAuditEach } from '../audit/service.ts';
import { requireWorkspace } from '../workspaces/service.ts';
import { hostedServiceErrors } from './errors.ts';
import {
  deleteHostedService,
  deleteServiceTokensOf,
  findHostedService,
  findLiveServiceToken,
  findServiceToken,
  type HostedServiceRow,
  type HostedServiceWrite,
  hostedServiceNameTaken,
  insertHostedService,
  insertServiceToken,
  listHostedServices,
  listServiceTokens,
  revokeServiceToken,
  revokeServiceTokensOfKeys,
  type ServiceTokenRecordRow,
  type ServiceTokenRow,
  updateHostedService,
} from './repo.ts';
import { MAX_CLAIMS_BYTES, RESERVED_CLAIMS } from './schemas.ts';

// ── verification ─────────────────────────────────────────────────────────────────────────────

const CACHE = { name: 'service-tokens', maxEntries: 100_000, maxAgeMs: 10 * 60_000 };

/** A live service token by its secret's hash; cached, dropped on every node when it changes. */
export async function serviceTokenRecord(deps: AppDeps, hash: string): Promise<ServiceTokenRecordRow | null> {
  const cache = deps.caches.named<ServiceTokenRecordRow>(CACHE.name, CACHE.maxEntries, CACHE.maxAgeMs);
  const record = await cache.getOrLoad(`h:${hash}`, async () => {
    const row = await findLiveServiceToken(deps.db, hash);
    return row ? { value: row, tags: [`key:${row.id}`, `org:${row.org_id}`] } : null;
  });
  if (!record || record.expires_at.getTime() <= Date.now()) return null;
  return record;
}

// ── hosted services ──────────────────────────────────────────────────────────────────────────

export interface HostedServiceInput {
  name: string;
  description?: string | null;
  url?: string | null;
}

export function presentHostedService(row: HostedServiceRow) {
  return {
    id: row.id,
    org_id: row.org_id,
    workspace_id: row.workspace_id,
    name: row.name,
    description: row.description,
    url: row.url,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** The schema admits only `http(s)://…`; this also refuses what a URL parser cannot read or has no host. */
function checkUrl(url: string | null | undefined) {
  if (url === undefined || url === null) return;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw hostedServiceErrors.invalidUrl();
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
    throw hostedServiceErrors.invalidUrl();
  }
}

/** The service within the org's workspace, or 404 (another workspace's or org's service included). */
async function requireHostedService(db: Executor, orgId: string, workspaceId: string, serviceId: string) {
  const row = await findHostedService(db, orgId, workspaceId, serviceId);
  if (!row) throw hostedServiceErrors.notFound();
  return row;
}

export async function createHostedService(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  input: HostedServiceInput,
) {
  checkUrl(input.url);
  return deps.db.transaction().execute(async (trx) => {
    await requireWorkspace(trx, orgId, workspaceId);
    const name = input.name.trim();
    const row = await insertHostedService(trx, orgId, workspaceId, {
      id: newId(),
      name,
      description: input.description ?? null,
      url: input.url ?? null,
    });
    if (!row) throw hostedServiceErrors.nameTaken(name);
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'hosted_service.created',
      targetType: 'hosted_service',
      targetId: row.id,
      metadata: { workspace_id: workspaceId, name: row.name, url: row.url },
    });
    return presentHostedService(row);
  });
}

export async function listWorkspaceHostedServices(
  deps: AppDeps,
  orgId: string,
  workspaceId: string,
  page: Page,
) {
  await requireWorkspace(deps.db, orgId, workspaceId);
  return toPage(await listHostedServices(deps.db, orgId, workspaceId, page), page, presentHostedService);
}

export async function getHostedService(deps: AppDeps, orgId: string, workspaceId: string, serviceId: string) {
  return presentHostedService(await requireHostedService(deps.db, orgId, workspaceId, serviceId));
}

export async function patchHostedService(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
  input: Partial<HostedServiceInput>,
) {
  checkUrl(input.url);
  return deps.db.transaction().execute(async (trx) => {
    await requireHostedService(trx, orgId, workspaceId, serviceId);
    const fields: HostedServiceWrite = { ...input };
    if (input.name !== undefined) {
      fields.name = input.name.trim();
      if (await hostedServiceNameTaken(trx, orgId, workspaceId, fields.name, serviceId)) {
        throw hostedServiceErrors.nameTaken(fields.name);
      }
    }
    const row = await updateHostedService(trx, orgId, workspaceId, serviceId, fields);
    if (!row) throw hostedServiceErrors.notFound();
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'hosted_service.updated',
      targetType: 'hosted_service',
      targetId: serviceId,
      metadata: { workspace_id: workspaceId, changed: Object.keys(input) },
    });
    return presentHostedService(row);
  });
}

/** Deletes the service and its tokens; the tokens stop at once on this node (and on the others by NOTIFY). */
export async function removeHostedService(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
) {
  const tokenIds = await deps.db.transaction().execute(async (trx) => {
    // Explicitly rather than by cascade, to learn which tokens to drop from this node's cache.
    const ids = await deleteServiceTokensOf(trx, orgId, workspaceId, serviceId);
    if (!(await deleteHostedService(trx, orgId, workspaceId, serviceId))) {
      throw hostedServiceErrors.notFound(); // rolls the token deletion back too
    }
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'hosted_service.deleted',
      targetType: 'hosted_service',
      targetId: serviceId,
      metadata: { workspace_id: workspaceId, service_tokens_deleted: ids.length },
    });
    return ids;
  });
  if (tokenIds.length > 0) deps.caches.forget(tokenIds.map((id) => `key:${id}`));
}

// ── service tokens ───────────────────────────────────────────────────────────────────────────

export interface MintInput {
  claims?: Record<string, unknown>;
  ttl_minutes?: number;
}

export function presentServiceToken(row: ServiceTokenRow) {
  return {
    id: row.id,
    service_id: row.service_id,
    claims: row.claims,
    expires_at: row.expires_at.toISOString(),
    revoked_at: row.revoked_at?.toISOString() ?? null,
    created_by: { user_id: row.created_by_user_id },
    created_at: row.created_at.toISOString(),
  };
}

const RESERVED = new Set<string>(RESERVED_CLAIMS);

/** Custom claims may not shadow what introspection sets, and stay small (the schema bounds their depth). */
function checkClaims(claims: Record<string, unknown>): string {
  const reserved = Object.keys(claims).filter((key) => RESERVED.has(key));
  if (reserved.length > 0) throw hostedServiceErrors.reservedClaims(reserved, RESERVED_CLAIMS);
  const json = JSON.stringify(claims);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_CLAIMS_BYTES) throw hostedServiceErrors.claimsTooLarge(bytes, MAX_CLAIMS_BYTES);
  return json;
}

/**
 * Mints an `fl_hsl_` token for one service: the secret is in this answer only, the database keeps its
 * SHA-256. The audit entry names the claim keys, never the claims' values or the token.
 */
export async function mintServiceToken(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
  input: MintInput,
) {
  const claims = input.claims ?? {};
  const claimsJson = checkClaims(claims);
  const ttlMinutes = input.ttl_minutes ?? 60;
  return deps.db.transaction().execute(async (trx) => {
    await lockCallingKey(trx, orgId, actor.principal);
    const service = await requireHostedService(trx, orgId, workspaceId, serviceId);
    const token = mintToken('service_token');
    const row = await insertServiceToken(trx, {
      org_id: orgId,
      workspace_id: workspaceId,
      service_id: service.id,
      id: newId(),
      token_hash: sha256Hex(token),
      claims: claimsJson,
      created_by_user_id: actor.principal.userId,
      created_by_api_key_id: apiKeyIdOf(actor.principal),
      // Minted with an expiring key: the token stops no later than the key (its expiry does not cascade).
      expires_at: new Date(
        Math.min(Date.now() + ttlMinutes * 60_000, callerExpiry(actor.principal) ?? Infinity),
      ),
    });
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'service_token.minted',
      targetType: 'service_token',
      targetId: row.id,
      metadata: {
        workspace_id: workspaceId,
        service_id: service.id,
        claim_keys: Object.keys(claims),
        ttl_minutes: ttlMinutes,
        expires_at: row.expires_at.toISOString(),
      },
    });
    return { token, id: row.id, service_id: row.service_id, expires_at: row.expires_at.toISOString() };
  });
}

export async function listHostedServiceTokens(
  deps: AppDeps,
  orgId: string,
  workspaceId: string,
  serviceId: string,
  page: Page,
  includeRevoked: boolean,
) {
  await requireHostedService(deps.db, orgId, workspaceId, serviceId);
  return toPage(
    await listServiceTokens(deps.db, orgId, workspaceId, serviceId, page, includeRevoked),
    page,
    presentServiceToken,
  );
}

/** Revokes a token (idempotent for one already revoked); it stops at once on this node. */
export async function revokeHostedServiceToken(
  deps: AppDeps,
  actor: Actor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
  tokenId: string,
) {
  const id = await deps.db.transaction().execute(async (trx) => {
    const row = await findServiceToken(trx, orgId, workspaceId, serviceId, tokenId);
    if (!row) throw hostedServiceErrors.tokenNotFound();
    if (await revokeServiceToken(trx, orgId, row.id)) {
      await recordAudit(trx, orgId, auditActorOf(actor), {
        action: 'service_token.revoked',
        targetType: 'service_token',
        targetId: row.id,
        metadata: { workspace_id: workspaceId, service_id: row.service_id },
      });
    }
    return row.id;
  });
  deps.caches.forget([`key:${id}`]);
}

/** The API keys these tokens were minted with were revoked: the tokens stop too (same transaction). */
export async function revokeServiceTokensMadeByKeys(
  trx: Executor,
  actor: Actor,
  orgId: string,
  keyIds: string[],
) {
  const ids = await revokeServiceTokensOfKeys(trx, orgId, keyIds);
  await recordAuditEach(trx, orgId, auditActorOf(actor), ids, (id) => ({
    action: 'service_token.revoked',
    targetType: 'service_token',
    targetId: id,
    metadata: { reason: 'api_key_revoked' },
  }));
  return ids;
}
