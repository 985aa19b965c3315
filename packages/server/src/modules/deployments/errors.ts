import { problems } from '../../http/problem.ts';

export const deploymentErrors = {
  tokenNotFound: () => problems.notFound('Deploy token'),
  deploymentNotFound: () => problems.notFound('Deployment'),
  expiryInPast: () =>
    problems.badRequest('invalid_expiry', 'expires_at must be a real moment in the future.', [
      { path: 'body.expires_at', message: 'must be a real moment in the future' },
    ]),
  expiryBeyondParent: (parentExpiry: Date) =>
    problems.badRequest(
      'invalid_expiry',
      `A deploy token made with an expiring key must expire no later than it (${parentExpiry.toISOString()}).`,
      [{ path: 'body.expires_at', message: `must be set and no later than ${parentExpiry.toISOString()}` }],
    ),
  finished: (status: string) =>
    problems.conflict(
      'deployment_finished',
      `The deployment has finished (${status}); its status can no longer change.`,
    ),
};
