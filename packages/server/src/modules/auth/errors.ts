import { problems } from '../../http/problem.ts';

export const authErrors = {
  invalidCredentials: () =>
    problems.unauthorized('The email or password is incorrect.', 'invalid_credentials'),
  invalidRefreshToken: () =>
    problems.unauthorized(
      'The refresh token is invalid, expired or already used; sign in again.',
      'invalid_refresh_token',
    ),
  sessionEnded: () => problems.unauthorized('This sign-in has ended; sign in again.', 'invalid_credential'),
  signupDisabled: () =>
    problems.forbidden('signup_disabled', 'Self-service signup is disabled on this server.'),
  emailReserved: () =>
    problems.forbidden(
      'email_reserved',
      'This address belongs to a platform administrator; its account is created on the server (`npm run orgplane -- create-user`).',
    ),
  emailTaken: () =>
    problems.conflict('email_taken', 'An account with this email already exists; sign in instead.'),
  weakPassword: (reason: string) =>
    problems.badRequest('weak_password', reason, [{ path: 'body.password', message: reason }]),
  tooManyAttempts: (retryAfter: number) =>
    problems.tooManyRequests(`Too many attempts; try again in ${retryAfter} seconds.`, retryAfter),
  orgNotFound: () => problems.notFound('Organization'),
};
