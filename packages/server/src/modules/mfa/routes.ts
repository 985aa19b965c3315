import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf } from '../../http/guard.ts';
import { NoContent } from '../../http/schema-helpers.ts';
import { TotpCodeBody, TotpEnabled, TotpEnrolment } from './schemas.ts';
import { disableTotp, enrolTotp, verifyTotp } from './service.ts';

const tags = ['Profile'];

export const mfaRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    '/api/v1/me/mfa/totp',
    {
      // A user session only: API keys and deploy tokens answer 403 credential_not_allowed.
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Start two-factor (TOTP) enrolment; replaces an unconfirmed one',
        response: { 201: TotpEnrolment },
      },
    },
    async (request, reply) => reply.code(201).send(await enrolTotp(deps, actorOf(request))),
  );

  app.post(
    '/api/v1/me/mfa/totp/verify',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Confirm the authenticator with a current code: two-factor sign-in is on',
        body: TotpCodeBody,
        response: { 200: TotpEnabled },
      },
    },
    async (request) => verifyTotp(deps, actorOf(request), request.body.code),
  );

  app.delete(
    '/api/v1/me/mfa/totp',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Turn two-factor sign-in off (needs a current code)',
        body: TotpCodeBody,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await disableTotp(deps, actorOf(request), request.body.code);
      return reply.code(204).send(null);
    },
  );
};
