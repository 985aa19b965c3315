import { ProblemError, problems } from '../../http/problem.ts';

export const cliLoginErrors = {
  // An unknown id and a wrong secret answer alike: the answer says nothing about which ids exist.
  notFound: () => problems.notFound('CLI login request'),
  tokenNotFound: () => problems.notFound('CLI login token'),
  notAllowed: () =>
    problems.forbidden(
      'cli_login_not_allowed',
      // There is no profile page yet (it comes with the console): the API call is the way.
      'CLI login is not enabled for your account. Turn it on with PATCH /api/v1/me {"allow_cli_login_access": true}, signed in as yourself, then try again.',
    ),
  expired: () =>
    new ProblemError(
      410,
      'cli_login_request_expired',
      'This CLI login request has expired; start a new one from the CLI.',
    ),
  alreadyApproved: () =>
    problems.conflict('cli_login_request_used', 'This CLI login request has already been approved.'),
  used: () =>
    new ProblemError(
      410,
      'cli_login_request_used',
      'This CLI login request has already been used; start a new one from the CLI.',
    ),
  orgUnavailable: () =>
    problems.forbidden(
      'cli_login_org_unavailable',
      'The approving user is no longer a member of the organization this CLI login was approved for; start a new one from the CLI.',
    ),
  tooManyRequests: (retryAfter: number) =>
    problems.tooManyRequests(`Too many CLI login requests; try again in ${retryAfter} seconds.`, retryAfter),
};
