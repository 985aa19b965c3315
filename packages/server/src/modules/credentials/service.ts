// Turning any presented credential into a Principal, fast: opaque tokens are recognised by prefix
// and checksum before any lookup, JWT signatures are verified once per token, and every principal
// is cached in process until the database announces a change to it (see platform/change-feed.ts).
// Also: exchanging an API key for a short-lived JWT, and RFC 7662 introspection of every kind.
import type { JWTPayload } from 'jose';
import type { Permission } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import { isExpired } from '../../http/expiry.ts';
import type { CredentialResolver, Principal } from '../../http/principal.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import { claimedTokenKind, looksOpaque, opaqueTokenKind } from '../../platform/token-format.ts';
import { apiKeyErrors } from '../api-keys/errors.ts';
import { apiKeyPrincipal, knownApiKeyPrincipal } from '../api-keys/service.ts';
import { knownSessionPrincipal, sessionPrincipal } from '../auth/service.ts';
import { deployTokenPrincipal, knownDeployTokenPrincipal } from '../deployments/service.ts';
import { serviceTokenRecord } from '../hosted-services/service.ts';
import { isOauthToken, knownOauthPrincipal, oauthPrincipal } from '../oauth/principal.ts';
import { credentialErrors } from './errors.ts';

const JWT_CACHE = { name: 'verified-jwts', maxEntries: 50_000, maxAgeMs: 24 * 3600_000 };
const DERIVED_CACHE = { name: 'exchanged-jwts', maxEntries: 100_000, maxAgeMs: 10 * 60_000 };

interface VerifiedJwt {
  token: string;
  claims: JWTPayload;
}

/**
 * A JWT's verified claims; the signature is checked once per token, the expiry on every use. The
 * cache is keyed by the signature segment (short, unique per token: hashing the whole 600-character
 * token on every request showed in profiles), and a hit must match the whole token, so a known
 * signature glued to another header or payload is verified like any new token.
 */
async function verifiedClaims(deps: AppDeps, token: string): Promise<JWTPayload | null> {
  const known = knownClaims(deps, token);
  if (known !== undefined) return known;
  const payload = await deps.keys.verify(token);
  if (!payload) return null;
  jwtCache(deps).put(signatureOf(token), { value: { token, claims: payload }, tags: [] });
  return unexpired(payload);
}

function jwtCache(deps: AppDeps) {
  return deps.caches.named<VerifiedJwt>(JWT_CACHE.name, JWT_CACHE.maxEntries, JWT_CACHE.maxAgeMs);
}

const signatureOf = (token: string) => token.slice(token.lastIndexOf('.') + 1);

function unexpired(claims: JWTPayload): JWTPayload | null {
  return typeof claims.exp === 'number' && claims.exp * 1000 > Date.now() ? claims : null;
}

/** Claims of a token this node verified before (null once expired), else undefined. */
function knownClaims(deps: AppDeps, token: string): JWTPayload | null | undefined {
  const verified = jwtCache(deps).get(signatureOf(token));
  return verified?.token === token ? unexpired(verified.claims) : undefined;
}

function exchangedCache(deps: AppDeps) {
  return deps.caches.named<Principal>(DERIVED_CACHE.name, DERIVED_CACHE.maxEntries, DERIVED_CACHE.maxAgeMs);
}

/** A JWT exchanged for an API key: the key's live principal, narrowed to the scopes it was issued with. */
async function exchangedPrincipal(deps: AppDeps, claims: JWTPayload, keyId: string) {
  const jti = claims.jti as string;
  return exchangedCache(deps).getOrLoad(`j:${jti}`, async () => {
    const key = await apiKeyPrincipal(deps, { id: keyId });
    if (!key || key.userId !== claims.sub || key.orgId !== claims.org_id) return null;
    const granted = new Set(typeof claims.scope === 'string' ? claims.scope.split(' ') : []);
    const principal: Principal = {
      ...key,
      permissions: new Set([...key.permissions].filter((permission) => granted.has(permission))),
      credential: { type: 'access_token', id: jti, api_key_id: keyId },
    };
    return { value: principal, tags: [`key:${keyId}`, `org:${key.orgId}`, `user:${key.userId}`] };
  });
}

/**
 * `principalOfToken` without waiting, when every step is already known to this node; undefined as
 * soon as one is not. Throws the same problems for tokens that are not API credentials.
 */
function knownPrincipalOfToken(deps: AppDeps, token: string): Principal | null | undefined {
  if (looksOpaque(token)) {
    // Found by hash among the keys this node has verified, a token needs no checksum check (a hit
    // proves it genuine); a miss goes the long way, checksum first (principalOfToken).
    const kind = claimedTokenKind(token);
    if (kind === 'api_key') return knownApiKeyPrincipal(deps, sha256Hex(token));
    if (kind === 'deploy_token') return knownDeployTokenPrincipal(deps, sha256Hex(token));
    return undefined;
  }
  if (token.startsWith('opr_')) throw credentialErrors.refreshTokenNotACredential();
  const claims = knownClaims(deps, token);
  if (!claims) return claims;
  if (typeof claims.jti !== 'string') return undefined;
  if (typeof claims.api_key_id === 'string') return exchangedCache(deps).get(`j:${claims.jti}`);
  if (isOauthToken(claims)) return knownOauthPrincipal(deps, claims.jti);
  return knownSessionPrincipal(deps, claims.jti);
}

async function principalOfToken(deps: AppDeps, token: string): Promise<Principal | null> {
  if (looksOpaque(token)) {
    const kind = opaqueTokenKind(token);
    if (kind === 'api_key') return apiKeyPrincipal(deps, { hash: sha256Hex(token) });
    if (kind === 'deploy_token') return deployTokenPrincipal(deps, sha256Hex(token));
    if (kind === 'service_token') throw credentialErrors.serviceTokenNotACredential();
    return null; // malformed or a wrong checksum: no lookup at all
  }
  if (token.startsWith('opr_')) throw credentialErrors.refreshTokenNotACredential();
  const claims = await verifiedClaims(deps, token);
  if (!claims) return null;
  if (typeof claims.api_key_id === 'string') return exchangedPrincipal(deps, claims, claims.api_key_id);
  if (isOauthToken(claims)) return oauthPrincipal(deps, claims);
  return sessionPrincipal(deps, claims);
}

/** Counts a request against the key's own limit, if it has one (429 beyond it). */
async function enforceRateLimit(deps: AppDeps, principal: Principal): Promise<void> {
  const limit = principal.rateLimit;
  if (!limit) return;
  const state = await deps.limiter.hit(limit.bucket, { max: limit.max, windowSeconds: limit.windowSeconds });
  if (state.count > limit.max) throw apiKeyErrors.overRateLimit(limit, state.retryAfterSeconds);
}

export function credentialResolver(deps: AppDeps): CredentialResolver {
  return {
    resolveKnown: (token) => {
      const principal = knownPrincipalOfToken(deps, token);
      if (!principal) return principal;
      if (isExpired(principal)) return null;
      // A rate-limited key counts each request in the database: not something known in advance.
      return principal.rateLimit ? undefined : principal;
    },
    resolve: async (token) => {
      const principal = await principalOfToken(deps, token);
      if (!principal || isExpired(principal)) return null;
      await enforceRateLimit(deps, principal);
      return principal;
    },
    isMember: async (userId, orgId) =>
      (await deps.db
        .selectFrom('memberships')
        .select('user_id')
        .where('user_id', '=', userId)
        .where('org_id', '=', orgId)
        .executeTakeFirst()) !== undefined,
  };
}

// ── exchange ─────────────────────────────────────────────────────────────────────────────────

/**
 * POST /auth/token: an API key buys a short-lived JWT that acts exactly like the key (same org,
 * scopes, workspace restriction and rate limit) and stops with it: revoking the key, or its
 * creator losing the role, stops the JWTs exchanged for it too.
 */
export async function exchangeApiKey(deps: AppDeps, apiKey: string, ttlMinutes: number) {
  const key =
    opaqueTokenKind(apiKey) === 'api_key' ? await apiKeyPrincipal(deps, { hash: sha256Hex(apiKey) }) : null;
  if (!key) throw credentialErrors.invalidApiKey();
  if (key.orgStatus !== 'active') throw credentialErrors.orgInactive(key.orgStatus ?? 'archived');
  await enforceRateLimit(deps, key);
  const keyRemaining =
    key.expiresAt === null ? Number.POSITIVE_INFINITY : Math.floor((key.expiresAt - Date.now()) / 1000);
  const ttl = Math.max(1, Math.min(ttlMinutes * 60, keyRemaining));
  // A token issued for the same key and ttl moments ago is still exactly what this call would
  // issue (any change to the key, its creator's role or its org drops it): hand it out again
  // instead of signing anew, with its remaining lifetime.
  const reuse = deps.config.tokenExchangeReuseSeconds;
  const issued = exchangeCache(deps);
  const cacheKey = `${key.credential.id}:${ttl}`;
  const scope = [...key.permissions].join(' ');
  // Reused only if it says exactly what a new one would (an exchange that was signing while the
  // creator was demoted must not hand its wider token to the next caller).
  const grants = `${key.role}|${scope}|${key.workspaceId ?? ''}`;
  const recent = reuse > 0 ? issued.get(cacheKey) : undefined;
  const now = Math.floor(Date.now() / 1000);
  if (recent && recent.grants === grants && recent.exp > now && recent.exp - now >= ttl - reuse) {
    return { access_token: recent.token, token_type: 'Bearer' as const, expires_in: recent.exp - now };
  }
  const accessToken = await deps.keys.sign(
    {
      org_id: key.orgId,
      owner: key.orgId,
      role: key.role,
      scope,
      api_key_id: key.credential.id,
      ...(key.workspaceId ? { workspace_id: key.workspaceId } : {}),
      // RFC 9068: the client the token was issued to — here, the key.
      client_id: key.credential.id,
    },
    key.userId,
    ttl,
  );
  if (reuse > 0) {
    const tags = [`key:${key.credential.id}`, `org:${key.orgId}`, `user:${key.userId}`];
    issued.put(cacheKey, { value: { token: accessToken, exp: now + ttl, grants }, tags });
  }
  return { access_token: accessToken, token_type: 'Bearer' as const, expires_in: ttl };
}

function exchangeCache(deps: AppDeps) {
  return deps.caches.named<{ token: string; exp: number; grants: string }>('issued-tokens', 100_000, 60_000);
}

// ── introspection ────────────────────────────────────────────────────────────────────────────

type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);
const INACTIVE: Introspection = { active: false };

const seconds = (ms: number | null) => (ms === null ? undefined : Math.floor(ms / 1000));
const scopeOf = (permissions: ReadonlySet<Permission>) => [...permissions].join(' ');

/**
 * RFC 7662 for every kind of token. Only tokens of the caller's own org are described (any other
 * is `active:false`, like garbage), and a caller bound to a workspace sees only that workspace's.
 */
export async function introspect(deps: AppDeps, caller: Principal, token: string): Promise<Introspection> {
  if (!caller.orgId) return INACTIVE;
  const visible = (orgId: string | null, workspaceId: string | null) =>
    orgId === caller.orgId && (!caller.workspaceId || caller.workspaceId === workspaceId);

  if (opaqueTokenKind(token) === 'service_token') {
    const record = await serviceTokenRecord(deps, sha256Hex(token));
    // A token of an archived or suspended org is stopped like every credential of it.
    if (record?.org_status !== 'active' || !visible(record.org_id, record.workspace_id)) return INACTIVE;
    return {
      ...record.claims,
      active: true,
      token_type: 'service_token',
      client_id: record.service_id,
      sub: typeof record.claims.sub === 'string' ? record.claims.sub : record.service_id,
      exp: seconds(record.expires_at.getTime()),
      iat: seconds(record.created_at.getTime()),
      org_id: record.org_id,
      workspace_id: record.workspace_id,
      service_id: record.service_id,
    };
  }

  let principal: Principal | null;
  try {
    principal = await principalOfToken(deps, token);
  } catch {
    return INACTIVE; // e.g. a refresh token: not something introspection describes
  }
  if (!principal?.role || !visible(principal.orgId, principal.workspaceId)) return INACTIVE;
  if (isExpired(principal) || principal.orgStatus !== 'active') return INACTIVE;
  const base = {
    active: true as const,
    scope: scopeOf(principal.permissions),
    sub: principal.userId,
    org_id: principal.orgId,
    ...(principal.workspaceId ? { workspace_id: principal.workspaceId } : {}),
  };
  if (principal.credential.type === 'access_token') {
    const claims = (await verifiedClaims(deps, token)) as JWTPayload;
    return {
      ...base,
      token_type: 'access_token',
      client_id: typeof claims.client_id === 'string' ? claims.client_id : undefined,
      exp: claims.exp,
      iat: claims.iat,
      iss: claims.iss,
      jti: claims.jti,
      ...(principal.credential.api_key_id ? { api_key_id: principal.credential.api_key_id } : {}),
    };
  }
  if (principal.kind === 'deploy_token') {
    return {
      ...base,
      token_type: 'deploy_token',
      client_id: principal.credential.id,
      environment_id: principal.environmentId,
      exp: seconds(principal.expiresAt),
    };
  }
  return {
    ...base,
    token_type: 'api_key',
    client_id: principal.credential.id,
    api_key_id: principal.credential.id,
    exp: seconds(principal.expiresAt),
  };
}

// ── signing keys ─────────────────────────────────────────────────────────────────────────────

/** Platform admins rotate the signing key; other nodes switch on hearing the database change. */
export async function rotateSigningKey(
  deps: AppDeps,
  caller: Principal,
  log: { info(details: object, message: string): void },
) {
  if (!caller.isPlatformAdmin) throw credentialErrors.platformAdminOnly();
  const kid = await deps.keys.rotate();
  log.info({ kid, by: caller.userId }, 'signing key rotated');
  return { kid };
}
