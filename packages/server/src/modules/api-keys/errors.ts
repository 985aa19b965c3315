import { problems } from '../../http/problem.ts';

export const apiKeyErrors = {
  notFound: () => problems.notFound('API key'),
  unknownScopes: (scopes: string[]) =>
    problems.badRequest(
      'unknown_scope',
      `Unknown scope${scopes.length > 1 ? 's' : ''}: ${scopes.join(', ')}. GET /api/v1/scopes lists the catalogue.`,
      scopes.map((scope) => ({ path: 'body.scopes', message: `"${scope}" is not in the scope catalogue` })),
    ),
  scopesExceedCaller: (scopes: string[], holder: string) =>
    problems.forbidden(
      'scope_exceeds_permissions',
      `A key cannot be granted more than ${holder} holds; not held: ${scopes.join(', ')}.`,
    ),
  rateLimitBeyondCaller: (limit: { max: number; windowSeconds: number }) =>
    problems.forbidden(
      'rate_limit_exceeds_caller',
      `The calling key is limited to ${limit.max} requests per ${limit.windowSeconds} seconds: keys it creates need a rate_limit at least as strict, and it cannot change rate limits.`,
    ),
  overRateLimit: (limit: { max: number; windowSeconds: number }, retryAfterSeconds: number) =>
    problems.tooManyRequests(
      `This API key allows ${limit.max} requests per ${limit.windowSeconds} seconds; retry after ${retryAfterSeconds} s.`,
      retryAfterSeconds,
    ),
};
