// Request-bound CLI login (seed 003). The CLI opens a request and shows its verification URL; the
// user, signed in in a browser, checks it (GET) and approves it (POST …/token) — only if their
// profile allows CLI logins. Or the URL's hosted page (page-routes.ts) takes their password and
// approves in one step, for their default org. The CLI then collects one normal sign-in for that
// user, in the org the approval was for: by polling with the request's secret, or by the user
// pasting the one-time token the approval returned. Whichever comes first consumes the request.
//
// Secrets (`fl_clr_` request secret, `fl_clt_` one-time token) are ≥ 32 random bytes, stored as
// SHA-256 only. Every transition is one conditional UPDATE, so concurrent callers cannot both win.
import type { AppDeps } from '../../app-deps.ts';
import type { RateLimitRule } from '../../config.ts';
import type { Executor } from '../../db/schema.ts';
import type { Actor, RequestOrigin } from '../../http/principal.ts';
import type { ProblemError } from '../../http/problem.ts';
import { generateSecret, safeEqual, sha256Hex } from '../../platform/crypto.ts';
import { newId } from '../../platform/ids.ts';
import { type AuditActor, auditActorOf, recordAudit, userActor } from '../audit/service.ts';
import { defaultOrgOf } from '../auth/repo.ts';
import { startSessionFor, type TokenPair } from '../auth/service.ts';
import { cliLoginAccessOf } from '../me/service.ts';
import { cliLoginErrors } from './errors.ts';
import {
  approveCliLoginRequest,
  type CliLoginRequestRow,
  consumeCliLoginRequest,
  deleteStaleCliLoginRequests,
  findCliLoginRequest,
  findCliLoginRequestByToken,
  insertCliLoginRequest,
} from './repo.ts';

const SECRET_PREFIX = 'fl_clr_';
const TOKEN_PREFIX = 'fl_clt_';
/** How long a request (and its one-time token) lives. */
export const CLI_LOGIN_LIFETIME_SECONDS = 600;
/** Polls and token redemptions allowed per IP, per request an IP may create (a CLI polls every few seconds). */
export const POLLS_PER_REQUEST = 20;
/** Expired requests stay a day (their polls answer 410 rather than 404), then are swept. */
const KEEP_EXPIRED_SECONDS = 86_400;

type Status = 'pending' | 'approved' | 'consumed' | 'expired';

/** A consumed request stays consumed; a pending or approved one past its expiry is expired. */
function statusOf(row: CliLoginRequestRow): Status {
  if (row.status === 'consumed') return 'consumed';
  return row.expired ? 'expired' : row.status;
}

async function throttle(deps: AppDeps, key: string, rule: RateLimitRule) {
  const limit = await deps.limiter.hit(key, rule);
  if (limit.count > rule.max) throw cliLoginErrors.tooManyRequests(limit.retryAfterSeconds);
}

function throttlePolls(deps: AppDeps, origin: RequestOrigin) {
  const rule = deps.config.rateLimits.cliLoginPerIp;
  return throttle(deps, `cli-login:poll:ip:${origin.ip}`, {
    max: rule.max * POLLS_PER_REQUEST,
    windowSeconds: rule.windowSeconds,
  });
}

/**
 * The request if `secret` is its secret. An unknown id and a wrong secret are the same 404; the
 * hashes are compared in constant time.
 */
async function requireRequest(db: Executor, id: string, secret: string) {
  const presented = sha256Hex(secret);
  const row = await findCliLoginRequest(db, id);
  if (!row || !safeEqual(row.secret_hash, presented)) throw cliLoginErrors.notFound();
  return row;
}

// ── the CLI opens a request ──────────────────────────────────────────────────────────────────

export async function createCliLoginRequest(
  deps: AppDeps,
  origin: RequestOrigin,
  input: { client_name?: string },
) {
  const rule = deps.config.rateLimits.cliLoginPerIp;
  await throttle(deps, `cli-login:create:ip:${origin.ip}`, rule);
  const id = newId();
  const secret = generateSecret(SECRET_PREFIX);
  const expiresAt = new Date(Date.now() + CLI_LOGIN_LIFETIME_SECONDS * 1000);
  await insertCliLoginRequest(deps.db, {
    id,
    secret_hash: sha256Hex(secret),
    client_name: input.client_name?.trim() || null,
    requested_ip: origin.ip,
    requested_user_agent: origin.userAgent,
    expires_at: expiresAt,
  });
  deps.background(
    'sweeping old CLI login requests',
    deleteStaleCliLoginRequests(deps.db, KEEP_EXPIRED_SECONDS, 100),
  );
  // The secret rides in the query string: the server's logs redact `secret=` values.
  const query = new URLSearchParams({ request_id: id, secret });
  return {
    request_id: id,
    secret,
    verification_url: `${deps.config.publicUrl}/cli-login?${query}`,
    expires_at: expiresAt.toISOString(),
  };
}

// ── the signed-in user checks and approves it ────────────────────────────────────────────────

export function presentCliLoginRequest(row: CliLoginRequestRow) {
  return {
    request_id: row.id,
    status: statusOf(row),
    client_name: row.client_name,
    requested_from: { ip: row.requested_ip, user_agent: row.requested_user_agent },
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
  };
}

export async function describeCliLoginRequest(deps: AppDeps, id: string, secret: string) {
  return presentCliLoginRequest(await requireRequest(deps.db, id, secret));
}

/**
 * Approves the request for the caller, in the org their session acts in, and returns the one-time
 * token (valid until the request expires). Refused unless the caller's profile allows CLI logins.
 */
export async function approveCliLogin(deps: AppDeps, actor: Actor, id: string, secret: string) {
  const { userId, orgId } = actor.principal;
  return approveFor(deps, id, secret, {
    userId,
    auditActor: auditActorOf(actor),
    orgIn: async () => orgId,
  });
}

/**
 * The approval page's path: the same approval for a user who has just proved who they are with
 * their password (no session), in their default org — the one a password login starts in.
 */
export async function approveCliLoginAsUser(
  deps: AppDeps,
  origin: RequestOrigin,
  user: { id: string; email: string },
  id: string,
  secret: string,
) {
  return approveFor(deps, id, secret, {
    userId: user.id,
    auditActor: userActor(origin, user),
    orgIn: (trx) => defaultOrgOf(trx, user.id),
  });
}

async function approveFor(
  deps: AppDeps,
  id: string,
  secret: string,
  approver: { userId: string; auditActor: AuditActor; orgIn: (trx: Executor) => Promise<string | null> },
) {
  const { userId } = approver;
  return deps.db.transaction().execute(async (trx) => {
    const row = await requireRequest(trx, id, secret);
    const status = statusOf(row);
    if (status === 'expired') throw cliLoginErrors.expired();
    if (status !== 'pending') throw cliLoginErrors.alreadyApproved();
    const access = await cliLoginAccessOf(trx, userId);
    if (!access?.allowed) throw cliLoginErrors.notAllowed();
    const orgId = await approver.orgIn(trx);
    const token = generateSecret(TOKEN_PREFIX);
    const expiresAt = await approveCliLoginRequest(trx, id, {
      userId,
      orgId,
      tokenHash: sha256Hex(token),
    });
    if (!expiresAt) {
      // Approved by another tab, or expired, since the read above.
      const now = await findCliLoginRequest(trx, id);
      throw now && statusOf(now) === 'expired' ? cliLoginErrors.expired() : cliLoginErrors.alreadyApproved();
    }
    if (orgId) {
      await recordAudit(trx, orgId, approver.auditActor, {
        action: 'auth.cli_login_approved',
        targetType: 'cli_login_request',
        targetId: id,
        metadata: {
          client_name: row.client_name,
          requested_ip: row.requested_ip,
          requested_user_agent: row.requested_user_agent,
        },
      });
    }
    return { token, expires_at: expiresAt.toISOString() };
  });
}

// ── the CLI collects its session ─────────────────────────────────────────────────────────────

export type PollResult = { status: 'pending' } | ({ status: 'approved' } & TokenPair);

/** `pending` while waiting; the session once approved — to exactly one caller; 410 afterwards. */
export async function pollCliLogin(
  deps: AppDeps,
  origin: RequestOrigin,
  id: string,
  secret: string,
): Promise<PollResult> {
  await throttlePolls(deps, origin);
  const row = await requireRequest(deps.db, id, secret);
  const status = statusOf(row);
  if (status === 'pending') return { status: 'pending' };
  if (status !== 'approved') throw refusalFor(status);
  return { status: 'approved', ...(await handOutSession(deps, origin, { id }, 'poll')) };
}

/** The paste path: the one-time token for the session, consuming the same request as a poll would. */
export async function redeemCliLoginToken(
  deps: AppDeps,
  origin: RequestOrigin,
  token: string,
): Promise<TokenPair> {
  await throttlePolls(deps, origin);
  const tokenHash = sha256Hex(token);
  const row = await findCliLoginRequestByToken(deps.db, tokenHash);
  if (!row) throw cliLoginErrors.tokenNotFound();
  const status = statusOf(row);
  if (status !== 'approved') throw refusalFor(status);
  return handOutSession(deps, origin, { tokenHash }, 'token');
}

function refusalFor(status: Status): ProblemError {
  return status === 'expired' ? cliLoginErrors.expired() : cliLoginErrors.used();
}

/**
 * Consumes the approved request and starts the approver's sign-in, in one transaction. When the
 * approver has since turned CLI login access off, or left the org, the request is spent all the
 * same (committed) and the caller refused: a later change of mind does not revive it.
 */
async function handOutSession(
  deps: AppDeps,
  origin: RequestOrigin,
  by: { id: string } | { tokenHash: string },
  via: 'poll' | 'token',
): Promise<TokenPair> {
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const claimed = await consumeCliLoginRequest(trx, by);
    if (!claimed) {
      // Another poll or redemption got there first, or the request expired meanwhile.
      const now =
        'id' in by
          ? await findCliLoginRequest(trx, by.id)
          : await findCliLoginRequestByToken(trx, by.tokenHash);
      return { refused: now ? refusalFor(statusOf(now)) : cliLoginErrors.notFound() };
    }
    const user = await cliLoginAccessOf(trx, claimed.approved_by_user_id);
    if (!user) return { refused: cliLoginErrors.notFound() };
    if (!user.allowed) return { refused: cliLoginErrors.notAllowed() };
    const tokens = await startSessionFor(deps, trx, user.id, claimed.org_id);
    if (!tokens) return { refused: cliLoginErrors.orgUnavailable() };
    if (claimed.org_id) {
      await recordAudit(trx, claimed.org_id, userActor(origin, user), {
        action: 'auth.cli_login',
        targetType: 'user',
        targetId: user.id,
        metadata: { request_id: claimed.id, client_name: claimed.client_name, via },
      });
    }
    return { tokens };
  });
  if ('refused' in outcome) throw outcome.refused;
  return outcome.tokens;
}
