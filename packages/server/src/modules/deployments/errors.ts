import { problems } from '../../http/problem.ts';

export const deploymentErrors = {
  tokenNotFound: () => problems.notFound('Deploy token'),
  deploymentNotFound: () => problems.notFound('Deployment'),
  finished: (status: string) =>
    problems.conflict(
      'deployment_finished',
      `The deployment has finished (${status}); its status can no longer change.`,
    ),
};
