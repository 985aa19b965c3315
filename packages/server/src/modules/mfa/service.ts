// TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, accepted ±1 step). The secret is 20
// random bytes sealed by the master key with AAD `totp:<user id>`; it is shown once, at enrolment,
// and never logged. Each accepted time step is recorded so a code works only once.
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import type { AppDeps } from '../../app-deps.ts';
import type { Actor } from '../../http/principal.ts';
import { mfaErrors } from './errors.ts';
import {
  confirmTotp,
  consumeTotpStep,
  deleteConfirmedTotp,
  findTotp,
  upsertUnconfirmedTotp,
} from './repo.ts';

const ISSUER = 'Orgplane';
const WINDOW = 1;
const CODE = /^[0-9]{6}$/;

function totpOf(secret: Buffer, label = '') {
  return new TOTP({
    issuer: ISSUER,
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: new Secret({ buffer: Uint8Array.from(secret).buffer }),
  });
}

const aadOf = (userId: string) => `totp:${userId}`;

/** The time step `code` belongs to (within ±1 step of now), or null when it is not valid. */
function matchingStep(deps: AppDeps, userId: string, secretSealed: string, code: string): number | null {
  const token = code.replace(/\s+/g, '');
  if (!CODE.test(token)) return null;
  const totp = totpOf(deps.vault.masterKey.decrypt(secretSealed, aadOf(userId)));
  const now = Date.now();
  const delta = totp.validate({ token, timestamp: now, window: WINDOW });
  return delta === null ? null : totp.counter({ timestamp: now }) + delta;
}

// ── for sign-in ────────────────────────────────────────────────────────────────────────────

/** Whether the user has turned on TOTP (a confirmed enrolment). */
export async function hasConfirmedTotp(deps: AppDeps, userId: string): Promise<boolean> {
  const row = await findTotp(deps.db, userId);
  return row?.confirmed_at != null;
}

/**
 * True only for a valid code (±1 step) of a confirmed enrolment that has not been used before:
 * the accepted step is recorded atomically, so the same code (or an older one) is refused after.
 */
export async function checkTotpCode(deps: AppDeps, userId: string, code: string): Promise<boolean> {
  const row = await findTotp(deps.db, userId);
  if (!row?.confirmed_at) return false;
  const step = matchingStep(deps, userId, row.secret_sealed, code);
  if (step === null) return false;
  return consumeTotpStep(deps.db, userId, step);
}

// ── /api/v1/me/mfa/totp ─────────────────────────────────────────────────────────────────────

export async function enrolTotp(deps: AppDeps, actor: Actor) {
  const { userId, email } = actor.principal;
  const secret = randomBytes(20);
  const stored = await upsertUnconfirmedTotp(
    deps.db,
    userId,
    deps.vault.masterKey.encrypt(secret, aadOf(userId)),
  );
  if (!stored) throw mfaErrors.alreadyEnabled();
  const totp = totpOf(secret, email);
  return { secret: totp.secret.base32, otpauth_url: totp.toString(), confirmed: false as const };
}

/**
 * Turns TOTP on once the user shows a current code. The step is not recorded here, so the code
 * that confirmed the authenticator may still sign in once.
 */
export async function verifyTotp(deps: AppDeps, actor: Actor, code: string) {
  const userId = actor.principal.userId;
  const row = await findTotp(deps.db, userId);
  if (!row) throw mfaErrors.notEnrolled();
  if (row.confirmed_at) throw mfaErrors.alreadyEnabled();
  if (matchingStep(deps, userId, row.secret_sealed, code) === null) throw mfaErrors.invalidCode();
  if (!(await confirmTotp(deps.db, userId, row.secret_sealed))) {
    // Replaced by a new enrolment, or confirmed by a concurrent request, meanwhile.
    const now = await findTotp(deps.db, userId);
    if (now?.confirmed_at) throw mfaErrors.alreadyEnabled();
    throw mfaErrors.invalidCode();
  }
  return { enabled: true as const };
}

/** Turns TOTP off; needs a current, unused code. */
export async function disableTotp(deps: AppDeps, actor: Actor, code: string) {
  const userId = actor.principal.userId;
  if (!(await hasConfirmedTotp(deps, userId))) throw mfaErrors.notEnrolled();
  if (!(await checkTotpCode(deps, userId, code))) throw mfaErrors.invalidCode();
  if (!(await deleteConfirmedTotp(deps.db, userId))) throw mfaErrors.notEnrolled();
}
