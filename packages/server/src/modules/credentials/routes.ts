import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { principalOf } from '../../http/guard.ts';
import { ExchangedToken, IntrospectBody, Introspection, RotatedKey, TokenExchangeBody } from './schemas.ts';
import { exchangeApiKey, introspect, rotateSigningKey } from './service.ts';

const tags = ['Authentication'];

export const credentialRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    '/api/v1/auth/token',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Exchange an API key for a short-lived access token (JWT) with the key’s org and scopes',
        body: TokenExchangeBody,
        response: { 200: ExchangedToken },
      },
    },
    async (request) => exchangeApiKey(deps, request.body.api_key, request.body.ttl_minutes ?? 60),
  );

  app.post(
    '/api/v1/admin/signing-keys/rotate',
    {
      config: { auth: 'user' },
      schema: {
        tags: ['Administration'],
        summary: 'Rotate the token-signing key (platform administrators)',
        description:
          'A new key (new `kid`) signs from now on, on every node; tokens signed by the old key keep verifying until they expire, and the JWKS lists both meanwhile. Same as `npm run orgplane -- rotate-signing-key`.',
        response: { 200: RotatedKey },
      },
    },
    async (request) => rotateSigningKey(deps, principalOf(request), request.log),
  );

  app.post(
    '/api/v1/auth/introspect',
    {
      config: { auth: 'user', allow: ['user', 'api_key'] },
      schema: {
        tags,
        summary: 'Describe a token (RFC 7662): fl_ keys, fl_hsl_ service tokens, fl_deploy_ tokens and JWTs',
        description:
          'Authenticate as a user or with an API key of the org; tokens of any other org answer `active: false`. Hosted services verify the `fl_hsl_` tokens they receive here.',
        body: IntrospectBody,
        response: { 200: Introspection },
      },
    },
    async (request) => introspect(deps, principalOf(request), request.body.token),
  );
};
