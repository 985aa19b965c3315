import { problems } from '../../http/problem.ts';

export const credentialErrors = {
  invalidApiKey: () =>
    problems.unauthorized('The API key is malformed, unknown, expired or revoked.', 'invalid_api_key'),
  serviceTokenNotACredential: () =>
    problems.unauthorized(
      'fl_hsl_ tokens authenticate calls to your hosted service, not to this API; the service verifies them with POST /api/v1/auth/introspect.',
      'invalid_credential',
    ),
  refreshTokenNotACredential: () =>
    problems.unauthorized(
      'A refresh token cannot call the API: exchange it at POST /api/v1/auth/refresh for an access token.',
      'invalid_credential',
    ),
  platformAdminOnly: () =>
    problems.forbidden('platform_admin_required', 'Only platform administrators may rotate the signing key.'),
  orgInactive: (status: string) =>
    problems.forbidden(
      `org_${status}`,
      `This organization is ${status}; its credentials are stopped until it is restored.`,
    ),
};
