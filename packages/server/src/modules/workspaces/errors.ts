import { problems } from '../../http/problem.ts';

export const workspaceErrors = {
  notFound: () => problems.notFound('Workspace'),
};
