import { problems } from '../../http/problem.ts';

export const mfaErrors = {
  notEnrolled: () => problems.notFound('Two-factor authentication'),
  alreadyEnabled: () =>
    problems.conflict(
      'mfa_already_enabled',
      'Two-factor authentication is already on for this account; turn it off first to enrol a new authenticator.',
    ),
  invalidCode: () =>
    problems.badRequest(
      'invalid_mfa_code',
      'The code is not valid; enter the current code from your authenticator app.',
    ),
  // Login answers (401): the password was right, the second factor is missing or wrong.
  mfaRequired: () =>
    problems.unauthorized(
      'This account uses two-factor authentication: send mfa_code with the code from your authenticator app.',
      'mfa_required',
    ),
  invalidLoginCode: () =>
    problems.unauthorized(
      'The two-factor code is not valid or was already used; wait for the next code and try again.',
      'invalid_mfa_code',
    ),
};
