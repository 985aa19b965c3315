import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf } from '../../http/guard.ts';
import { Me, UpdateMeBody } from './schemas.ts';
import { getMe, updateMe } from './service.ts';

const tags = ['Profile'];

export const meRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.get(
    '/api/v1/me',
    {
      // A user session only: API keys and deploy tokens answer 403 credential_not_allowed.
      config: { auth: 'user' },
      schema: { tags, summary: 'Get your profile', response: { 200: Me } },
    },
    async (request) => getMe(deps, actorOf(request)),
  );

  app.patch(
    '/api/v1/me',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Update your profile (name, "Allow CLI login access")',
        body: UpdateMeBody,
        response: { 200: Me },
      },
    },
    async (request) => updateMe(deps, actorOf(request), request.body),
  );
};
