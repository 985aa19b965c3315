// First-party sign-in: signup, login, refresh rotation with reuse detection, logout, org switching,
// and turning a presented access token into a Principal.

import type { JWTPayload } from 'jose';
import { permissionsOf } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import type { Executor, OrgRole } from '../../db/schema.ts';
import type { Actor, Principal, RequestOrigin } from '../../http/principal.ts';
import { generateSecret, sha256Hex } from '../../platform/crypto.ts';
import { newId } from '../../platform/ids.ts';
import {
  hashPassword,
  passwordProblem,
  verifyAgainstDecoy,
  verifyPassword,
} from '../../platform/passwords.ts';
import { auditActorOf, recordAudit, userActor } from '../audit/service.ts';
import { mfaErrors } from '../mfa/errors.ts';
import { createOrganization } from '../orgs/service.ts';
import { authErrors } from './errors.ts';
import {
  consumeRefreshToken,
  defaultOrgOf,
  findCaller,
  findRefreshToken,
  findUserByEmail,
  insertFamily,
  insertRefreshToken,
  insertUser,
  lockLiveSessionRoot,
  lockMembership,
  revokeSessionTree,
  type UserRow,
} from './repo.ts';
import { checkSecondFactor, needsSecondFactor } from './second-factor.ts';

const REFRESH_TOKEN_PREFIX = 'opr_';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

// ── signup ────────────────────────────────────────────────────────────────────────────────────

export interface NewAccount {
  email: string;
  password: string;
  name?: string;
}

/**
 * Self-service signup over HTTP. Platform-administrator addresses are reserved: emails are not
 * verified, so whoever signed up first with such an address would become a platform admin. Those
 * accounts are created on the server instead (`npm run orgplane -- create-user`).
 */
export async function signup(deps: AppDeps, origin: RequestOrigin, input: NewAccount) {
  if (!deps.config.allowSignup) throw authErrors.signupDisabled();
  const limit = await deps.limiter.hit(`signup:ip:${origin.ip}`, deps.config.rateLimits.signupPerIp);
  if (limit.count > deps.config.rateLimits.signupPerIp.max)
    throw authErrors.tooManyAttempts(limit.retryAfterSeconds);
  if (deps.config.platformAdminEmails.has(input.email.trim().toLowerCase())) throw authErrors.emailReserved();
  return createAccount(deps, origin, input);
}

/**
 * Creates a user and their personal org (owner), audited; shared by signup and the server CLI,
 * which marks its accounts `createdOnServer` (the only ones that can be platform administrators).
 */
export async function createAccount(
  deps: AppDeps,
  origin: RequestOrigin,
  input: NewAccount,
  options: { createdOnServer?: boolean } = {},
) {
  const email = input.email.trim();
  const weakness = passwordProblem(input.password, email);
  if (weakness) throw authErrors.weakPassword(weakness);
  const name = input.name?.trim() || null;
  const passwordHash = await hashPassword(input.password);

  return deps.db.transaction().execute(async (trx) => {
    const user = await insertUser(trx, {
      id: newId(),
      email,
      name,
      password_hash: passwordHash,
      created_on_server: options.createdOnServer ?? false,
    });
    if (!user) throw authErrors.emailTaken();
    const personalName = `${name ?? email.split('@')[0]}'s organization`;
    const org = await createOrganization(deps, trx, user, userActor(origin, user), {
      name: personalName.slice(0, 200),
      slugHint: name ?? email.split('@')[0],
      contact_email: email,
    });
    await recordAudit(trx, org.id, userActor(origin, user), {
      action: 'user.signed_up',
      targetType: 'user',
      targetId: user.id,
    });
    return {
      user: { id: user.id, email: user.email, name: user.name },
      organization: { id: org.id, name: org.name, slug: org.slug },
    };
  });
}

// ── login ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Failed attempts are counted per account and per IP. Every attempt is counted *before* the
 * password is checked (one atomic increment), so parallel guesses cannot exceed the limit; a
 * successful attempt takes its own count back.
 */
export async function login(
  deps: AppDeps,
  origin: RequestOrigin,
  input: { email: string; password: string; org_id?: string; mfa_code?: string },
): Promise<TokenPair> {
  const user = await verifyPasswordSignIn(deps, origin, input);
  await requireSecondFactor(deps, user, input);
  return deps.db.transaction().execute(async (trx) => {
    const orgId = input.org_id ? input.org_id.toLowerCase() : await defaultOrgOf(trx, user.id);
    const membership = orgId ? await lockMembership(trx, orgId, user.id) : null;
    if (orgId && !membership) throw authErrors.orgNotFound();
    const tokens = await startSession(deps, trx, user, { orgId, role: membership?.role ?? null }, null);
    if (orgId) {
      await recordAudit(trx, orgId, userActor(origin, user), {
        action: 'auth.login',
        targetType: 'user',
        targetId: user.id,
      });
    }
    return tokens;
  });
}

/** After the password: a user with TOTP on must send a current, unused code (auth/second-factor.ts). */
async function requireSecondFactor(deps: AppDeps, user: UserRow, input: { mfa_code?: string }) {
  if (!(await needsSecondFactor(deps, user.id))) return;
  if (!input.mfa_code) throw mfaErrors.mfaRequired();
  const checked = await checkSecondFactor(deps, user.id, input.mfa_code);
  if (checked.ok) return;
  if (checked.status === 429) throw authErrors.tooManyAttempts(checked.retryAfterSeconds ?? 60);
  throw mfaErrors.invalidLoginCode();
}

/**
 * Email and password checked under the login throttles (failed attempts per account and per IP);
 * the user, or the problem to answer. Shared by the API login and the hosted sign-in page.
 */
export async function verifyPasswordSignIn(
  deps: AppDeps,
  origin: RequestOrigin,
  input: { email: string; password: string },
): Promise<UserRow> {
  const rules = deps.config.rateLimits;
  const accountKey = `login:account:${input.email.trim().toLowerCase()}`;
  const ipKey = `login:ip:${origin.ip}`;
  const [account, ip] = await Promise.all([
    deps.limiter.hit(accountKey, rules.loginFailuresPerAccount),
    deps.limiter.hit(ipKey, rules.loginFailuresPerIp),
  ]);
  const overAccount = account.count > rules.loginFailuresPerAccount.max;
  const overIp = ip.count > rules.loginFailuresPerIp.max;
  if (overAccount || overIp) {
    throw authErrors.tooManyAttempts(
      Math.max(overAccount ? account.retryAfterSeconds : 0, overIp ? ip.retryAfterSeconds : 0),
    );
  }

  const user = await findUserByEmail(deps.db, input.email.trim());
  const valid = user
    ? await verifyPassword(user.password_hash, input.password)
    : await verifyAgainstDecoy(input.password);
  if (!user || !valid) {
    if (user) deps.background('auditing a failed login', auditLoginFailure(deps, origin, user));
    throw authErrors.invalidCredentials();
  }
  await Promise.all([deps.limiter.reset(accountKey), deps.limiter.release(ipKey)]);
  return user;
}

async function auditLoginFailure(deps: AppDeps, origin: RequestOrigin, user: UserRow) {
  const orgId = await defaultOrgOf(deps.db, user.id);
  if (!orgId) return;
  await recordAudit(deps.db, orgId, userActor(origin, user), {
    action: 'auth.login_failed',
    targetType: 'user',
    targetId: user.id,
    metadata: { reason: 'invalid_password' },
  });
}

// ── sessions and tokens ───────────────────────────────────────────────────────────────────────

/**
 * A new session acting in `orgId`. A login starts a new sign-in (its own root, with an absolute
 * expiry); an org switch starts a child of the caller's sign-in, sharing its root and expiry.
 */
async function startSession(
  deps: AppDeps,
  trx: Executor,
  user: { id: string },
  scope: SessionScope,
  parent: { root_id: string; expires_at: Date } | null,
) {
  const familyId = newId();
  const root = parent ?? {
    root_id: familyId,
    expires_at: new Date(Date.now() + deps.config.sessionMaxAgeSeconds * 1000),
  };
  await insertFamily(trx, { id: familyId, user_id: user.id, org_id: scope.orgId, ...root });
  return issueTokens(deps, trx, user.id, scope, familyId, root.expires_at);
}

/** The org a session acts in and the user's role there, as read (and share-locked) by the caller. */
interface SessionScope {
  orgId: string | null;
  role: OrgRole | null;
}

async function issueTokens(
  deps: AppDeps,
  trx: Executor,
  userId: string,
  { orgId, role }: SessionScope,
  familyId: string,
  sessionExpiresAt: Date,
) {
  const refreshToken = generateSecret(REFRESH_TOKEN_PREFIX);
  const slidingExpiry = Date.now() + deps.config.refreshTokenTtlSeconds * 1000;
  await insertRefreshToken(trx, {
    id: newId(),
    family_id: familyId,
    token_hash: sha256Hex(refreshToken),
    expires_at: new Date(Math.min(slidingExpiry, sessionExpiresAt.getTime())),
  });
  const ttl = deps.config.accessTokenTtlSeconds;
  const accessToken = await deps.keys.sign(
    {
      org_id: orgId,
      // Seed 002: the active org travels in the `owner` claim.
      owner: orgId,
      role,
      scope: role ? [...permissionsOf(role)].join(' ') : '',
      sid: familyId,
      // RFC 9068 requires client_id; first-party sign-in is the platform's own client.
      client_id: 'orgplane',
    },
    userId,
    ttl,
  );
  return {
    access_token: accessToken,
    refresh_token: refreshToken,
    token_type: 'Bearer' as const,
    expires_in: ttl,
  };
}

/**
 * Rotation: the presented token is consumed and a new one issued in the same family. A token that
 * was already used is a replay (stolen or raced): the whole family is revoked.
 */
export async function refresh(
  deps: AppDeps,
  origin: RequestOrigin,
  refreshToken: string,
): Promise<TokenPair> {
  const hash = sha256Hex(refreshToken);
  const result = await deps.db.transaction().execute(async (trx) => {
    const consumed = await consumeRefreshToken(trx, hash);
    if (!consumed) return null;
    const membership = consumed.org_id ? await lockMembership(trx, consumed.org_id, consumed.user_id) : null;
    const scope = { orgId: consumed.org_id, role: membership?.role ?? null };
    return issueTokens(deps, trx, consumed.user_id, scope, consumed.family_id, consumed.expires_at);
  });
  if (result) return result;

  const known = await findRefreshToken(deps.db, hash);
  if (known?.used_at && !known.revoked_at) {
    const ended = await deps.db.transaction().execute(async (trx) => {
      // A replayed token means it leaked: end the whole sign-in, every org switch included.
      const sessions = await revokeSessionTree(trx, known.root_id, 'refresh_token_reused');
      if (known.org_id) {
        await recordAudit(
          trx,
          known.org_id,
          { ...origin, type: 'system', id: null, email: null },
          {
            action: 'auth.refresh_token_reused',
            targetType: 'user',
            targetId: known.user_id,
            metadata: { session_id: known.family_id },
          },
        );
      }
      return sessions;
    });
    deps.caches.forget(ended.map((id) => `session:${id}`));
  }
  throw authErrors.invalidRefreshToken();
}

export async function logout(deps: AppDeps, origin: RequestOrigin, refreshToken: string): Promise<void> {
  const known = await findRefreshToken(deps.db, sha256Hex(refreshToken));
  if (!known || known.revoked_at) return;
  const ended = await deps.db.transaction().execute(async (trx) => {
    const sessions = await revokeSessionTree(trx, known.root_id, 'logout');
    if (known.org_id) {
      await recordAudit(
        trx,
        known.org_id,
        { ...origin, type: 'user', id: known.user_id, email: null },
        {
          action: 'auth.logout',
          targetType: 'user',
          targetId: known.user_id,
          metadata: { session_id: known.family_id },
        },
      );
    }
    return sessions;
  });
  deps.caches.forget(ended.map((id) => `session:${id}`));
}

/** A new session whose tokens act in `orgId`; the caller must be a member (404 otherwise). */
export async function switchOrg(deps: AppDeps, actor: Actor, requestedOrgId: string): Promise<TokenPair> {
  const orgId = requestedOrgId.toLowerCase();
  const userId = actor.principal.userId;
  return deps.db.transaction().execute(async (trx) => {
    const membership = await lockMembership(trx, orgId, userId);
    if (!membership) throw authErrors.orgNotFound();
    const sessionId = actor.principal.sessionId;
    const parent = sessionId ? await lockLiveSessionRoot(trx, sessionId) : null;
    if (sessionId && !parent) throw authErrors.sessionEnded();
    const tokens = await startSession(deps, trx, { id: userId }, { orgId, role: membership.role }, parent);
    await recordAudit(trx, orgId, auditActorOf(actor), {
      action: 'auth.org_switched',
      targetType: 'user',
      targetId: userId,
      metadata: { from_org_id: actor.principal.orgId },
    });
    return tokens;
  });
}

// Principals are cached and immutable, so each one's whoami answer is built — and serialised — once.
const whoamiBodies = new WeakMap<Principal, string>();

/** The whoami answer as JSON text (the shape of WhoamiResponse). */
export function whoamiJson(principal: Principal): string {
  let body = whoamiBodies.get(principal);
  if (body === undefined) {
    body = JSON.stringify(buildWhoami(principal));
    whoamiBodies.set(principal, body);
  }
  return body;
}

function buildWhoami(principal: Principal) {
  return {
    user_id: principal.userId,
    email: principal.email,
    organization: principal.orgId ? { id: principal.orgId, name: principal.orgName ?? '' } : null,
    role: principal.role,
    scopes: [...principal.permissions],
    credential: principal.credential,
  };
}

// ── credential resolution ─────────────────────────────────────────────────────────────────────

const SESSION_CACHE = { name: 'sessions', maxEntries: 100_000, maxAgeMs: 10 * 60_000 };

/**
 * The principal of a user's access token (already verified): their current role in the token's
 * org, the org's status and whether the sign-in was ended — cached per token and dropped on every
 * node when the session, the user, their membership or the org changes.
 */
function sessionCache(deps: AppDeps) {
  return deps.caches.named<Principal>(SESSION_CACHE.name, SESSION_CACHE.maxEntries, SESSION_CACHE.maxAgeMs);
}

/** The access token's principal if this node has it cached, else undefined. */
export function knownSessionPrincipal(deps: AppDeps, jti: string): Principal | undefined {
  return sessionCache(deps).get(`j:${jti}`);
}

export async function sessionPrincipal(deps: AppDeps, claims: JWTPayload): Promise<Principal | null> {
  if (!claims.sub || !claims.jti) return null;
  const userId = claims.sub;
  const jti = claims.jti;
  const orgId = typeof claims.org_id === 'string' ? claims.org_id : null;
  const sessionId = typeof claims.sid === 'string' ? claims.sid : null;
  return sessionCache(deps).getOrLoad(`j:${jti}`, async () => {
    const caller = await findCaller(deps.db, userId, orgId, sessionId);
    if (!caller || caller.session_revoked) return null;
    const role: OrgRole | null = caller.role;
    const principal: Principal = {
      kind: 'user',
      userId: caller.id,
      email: caller.email,
      orgId: role ? orgId : null,
      orgName: role ? caller.org_name : null,
      orgStatus: role ? caller.org_status : null,
      role,
      permissions: role ? permissionsOf(role) : new Set(),
      credential: { type: 'access_token', id: jti },
      sessionId,
      // Listed address AND created on the server: see ADR 8 (emails are not verified).
      isPlatformAdmin:
        caller.created_on_server && deps.config.platformAdminEmails.has(caller.email.toLowerCase()),
      workspaceId: null,
      environmentId: null,
      expiresAt: caller.session_expires_at?.getTime() ?? null,
      rateLimit: null,
    };
    const tags = [`user:${userId}`];
    if (orgId) tags.push(`org:${orgId}`);
    if (sessionId) tags.push(`session:${sessionId}`);
    return { value: principal, tags };
  });
}

// ── sign-ins started by other flows ───────────────────────────────────────────────────────────

/**
 * A new sign-in for `userId` acting in `orgId` (none when null), inside the caller's transaction:
 * the same tokens, lifetime and refresh rotation as a password login. Used by flows that have
 * already established who the user is (the CLI login a signed-in user approved). The membership is
 * share-locked like a login's; null when the user is no longer a member of `orgId`.
 */
export async function startSessionFor(
  deps: AppDeps,
  trx: Executor,
  userId: string,
  orgId: string | null,
): Promise<TokenPair | null> {
  const membership = orgId ? await lockMembership(trx, orgId, userId) : null;
  if (orgId && !membership) return null;
  return startSession(deps, trx, { id: userId }, { orgId, role: membership?.role ?? null }, null);
}
