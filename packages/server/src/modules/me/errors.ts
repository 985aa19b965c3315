import { problems } from '../../http/problem.ts';

export const meErrors = {
  // The session's user was deleted between authentication and the query.
  notFound: () => problems.notFound('User'),
};
