// Expiry rules shared by everything a caller can create with an expiry (API keys, deploy tokens,
// service tokens): a real future moment, and never beyond the expiring key that made it — a key's
// expiry does not cascade (nothing changes in the database when it passes), so what it made must
// stop by itself no later than the key.
import type { Principal } from './principal.ts';
import { problems } from './problem.ts';

/** Whether the credential behind this principal has stopped by time (key expiry, sign-in end). */
export function isExpired(principal: Principal): boolean {
  return principal.expiresAt !== null && principal.expiresAt <= Date.now();
}

/** The latest moment something made by this caller may live until: its key's expiry, if any. */
export function callerExpiry(principal: Principal): number | null {
  return principal.kind === 'user' ? null : principal.expiresAt;
}

/**
 * `expires_at` from a request body: null when absent (unless the caller's key expires: then it is
 * required), else a real future moment no later than the caller's key. 400 with the field otherwise.
 */
export function requestedExpiry(principal: Principal, value: string | undefined): Date | null {
  const expiresAt = value === undefined ? null : new Date(value);
  // NaN: a date-time the format allows but a clock cannot hold (a leap second, "23:59:60").
  if (expiresAt && !(expiresAt.getTime() > Date.now() && expiresAt.getUTCFullYear() <= 9999)) {
    throw problems.badRequest('invalid_expiry', 'expires_at must be a real moment in the future.', [
      { path: 'body.expires_at', message: 'must be a real moment in the future' },
    ]);
  }
  const limit = callerExpiry(principal);
  if (limit !== null && (!expiresAt || expiresAt.getTime() > limit)) {
    const at = new Date(limit).toISOString();
    throw problems.badRequest(
      'invalid_expiry',
      `Something made with an expiring key must expire no later than the key (${at}).`,
      [{ path: 'body.expires_at', message: `must be set and no later than ${at}` }],
    );
  }
  return expiresAt;
}
