import { problems } from '../../http/problem.ts';

export const auditErrors = {
  invalidTime: (field: 'since' | 'until') =>
    problems.badRequest('invalid_input', `${field} must be a real instant between the years 1 and 9999.`, [
      { path: `query.${field}`, message: 'is not a usable date-time' },
    ]),
};
