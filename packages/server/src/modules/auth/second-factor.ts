// The second step of a sign-in on Orgplane's own pages (OAuth sign-in, CLI-login approval): an
// account with two-factor authentication must also give a current code from its authenticator app.
// Codes tried count against the account's failed-login limit (its own key: the API login and these
// pages share one budget).
import type { AppDeps } from '../../app-deps.ts';
import { checkTotpCode, hasConfirmedTotp } from '../mfa/service.ts';

export type SecondFactor =
  | { ok: true }
  | { ok: false; status: 401 | 429; message: string; retryAfterSeconds?: number };

export async function needsSecondFactor(deps: AppDeps, userId: string): Promise<boolean> {
  return hasConfirmedTotp(deps, userId);
}

export async function checkSecondFactor(deps: AppDeps, userId: string, code: string): Promise<SecondFactor> {
  // Counted before the check, so once over the limit no code is even looked at (a correct guess
  // after the limit must not get through); the password's success has reset the account's count.
  const rule = deps.config.rateLimits.loginFailuresPerAccount;
  const key = `login:mfa:${userId}`;
  const state = await deps.limiter.hit(key, rule);
  if (state.count > rule.max) {
    return {
      ok: false,
      status: 429,
      message: `Too many codes tried. Try again in ${state.retryAfterSeconds} seconds.`,
      retryAfterSeconds: state.retryAfterSeconds,
    };
  }
  if (await checkTotpCode(deps, userId, code.trim())) {
    await deps.limiter.reset(key);
    return { ok: true };
  }
  return {
    ok: false,
    status: 401,
    message:
      'That code is not right, or was already used. Enter the current code from your authenticator app.',
  };
}
