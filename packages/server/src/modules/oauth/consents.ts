// The applications a user has authorized (their OAuth grants), listed and withdrawn from the
// profile. Withdrawing deletes the grant and everything issued under it; the database announces
// it (`grant:<id>`), so its access tokens stop on every node at once.

import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { principalOf } from '../../http/guard.ts';
import { problems } from '../../http/problem.ts';
import { NoContent } from '../../http/schema-helpers.ts';

const tags = ['Profile'];

const Consent = Type.Object({
  grant_id: Type.String({ description: 'The grant: what the user allowed this application' }),
  client_id: Type.String({ format: 'uuid' }),
  client_name: Type.String(),
  org_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
    description: 'The org the application acts in',
  }),
  org_name: Type.Union([Type.String(), Type.Null()]),
  scopes: Type.Array(Type.String(), { description: 'API and protocol scopes granted' }),
  created_at: Type.String({ format: 'date-time' }),
});

const ConsentList = Type.Object({
  data: Type.Array(Consent),
  next_cursor: Type.Null({ description: 'Always null: every grant is listed (at most one per application)' }),
});

const ConsentParams = Type.Object({ grant_id: Type.String({ minLength: 1, maxLength: 200 }) });

interface GrantPayload {
  clientId?: string;
  iat?: number;
  openid?: { scope?: string };
  resources?: Record<string, string>;
}

export function consentRoutes(app: FastifyInstance, deps: AppDeps) {
  app.get(
    '/api/v1/me/oauth-consents',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'List the applications you have authorized',
        response: { 200: ConsentList },
      },
    },
    async (request): Promise<Static<typeof ConsentList>> => {
      const userId = principalOf(request).userId;
      const rows = await deps.db
        .selectFrom('oauth_models as g')
        .innerJoin('oauth_clients as c', 'c.id', 'g.client_id')
        .leftJoin('organizations as o', 'o.id', 'g.org_id')
        .select([
          'g.id',
          'g.payload',
          'g.org_id',
          'c.id as client_id',
          'c.name as client_name',
          'o.name as org_name',
        ])
        .where('g.model', '=', 'Grant')
        .where('g.account_id', '=', userId)
        .where((eb) => eb.or([eb('g.expires_at', 'is', null), eb('g.expires_at', '>', new Date())]))
        .orderBy('g.id')
        .execute();
      return {
        data: rows.map((row) => {
          const payload = (
            typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload
          ) as GrantPayload;
          const scopes = [
            ...(payload.openid?.scope?.split(' ') ?? []),
            ...Object.values(payload.resources ?? {}).flatMap((scope) => scope.split(' ')),
          ].filter(Boolean);
          return {
            grant_id: row.id,
            client_id: row.client_id,
            client_name: row.client_name,
            org_id: row.org_id,
            org_name: row.org_name,
            scopes: [...new Set(scopes)],
            created_at: new Date((payload.iat ?? 0) * 1000).toISOString(),
          };
        }),
        next_cursor: null,
      };
    },
  );

  app.delete<{ Params: Static<typeof ConsentParams> }>(
    '/api/v1/me/oauth-consents/:grant_id',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Withdraw an application’s access (its tokens stop at once)',
        params: ConsentParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      const userId = principalOf(request).userId;
      const grantId = (request.params as Static<typeof ConsentParams>).grant_id;
      const removed = await deps.db.transaction().execute(async (trx) => {
        const grant = await trx
          .deleteFrom('oauth_models')
          .where('model', '=', 'Grant')
          .where('id', '=', grantId)
          .where('account_id', '=', userId)
          .returning('id')
          .executeTakeFirst();
        if (!grant) return false;
        await trx.deleteFrom('oauth_models').where('grant_id', '=', grantId).execute();
        return true;
      });
      if (!removed) throw problems.notFound('Consent');
      deps.caches.forget([`grant:${grantId}`]);
      return reply.code(204).send();
    },
  );
}
