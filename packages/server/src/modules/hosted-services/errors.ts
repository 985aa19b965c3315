import { problems } from '../../http/problem.ts';

export const hostedServiceErrors = {
  notFound: () => problems.notFound('Hosted service'),
  tokenNotFound: () => problems.notFound('Service token'),
  nameTaken: (name: string) =>
    problems.conflict('name_taken', `The workspace already has a hosted service named "${name}".`),
  invalidUrl: () =>
    problems.badRequest('invalid_url', 'url must be an absolute http:// or https:// URL with a host.', [
      { path: 'body.url', message: 'must be an absolute http:// or https:// URL with a host' },
    ]),
  reservedClaims: (keys: string[], reserved: readonly string[]) =>
    problems.badRequest(
      'reserved_claim',
      `Custom claims cannot use the reserved name${keys.length > 1 ? 's' : ''} ${keys.join(', ')}: introspection sets those itself. Reserved: ${reserved.join(', ')}.`,
      keys.map((key) => ({ path: `body.claims.${key}`, message: 'is a reserved claim name' })),
    ),
  claimsTooLarge: (bytes: number, limit: number) =>
    problems.badRequest(
      'claims_too_large',
      `claims serialise to ${bytes} bytes of JSON; at most ${limit} bytes are allowed.`,
      [{ path: 'body.claims', message: `must serialise to at most ${limit} bytes of JSON` }],
    ),
};
