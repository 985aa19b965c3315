import { type FieldError, problems } from '../../http/problem.ts';

export const oauthClientErrors = {
  notFound: () => problems.notFound('OAuth client'),
  /** Redirect URIs and scopes that the schema admits but the rules refuse, all at once. */
  invalidClient: (errors: FieldError[]) => {
    const first = errors[0] as FieldError;
    const more =
      errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : '';
    const code = errors.every((e) => e.path.startsWith('body.redirect_uris'))
      ? 'invalid_redirect_uri'
      : errors.every((e) => e.path.startsWith('body.scopes'))
        ? 'invalid_scope'
        : 'validation_failed';
    return problems.badRequest(code, `${first.path} ${first.message}${more}.`, errors);
  },
  publicClientHasNoSecret: () =>
    problems.conflict(
      'public_client',
      'This is a public client: it has no secret to rotate (public clients authenticate with PKCE alone). Create a confidential client if it needs a secret.',
    ),
};
