import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Gauge, type Registry } from 'prom-client';
import { Type } from 'typebox';
import type { AppDeps } from '../../app-deps.ts';
import { problemBody, sendProblem } from '../../http/problem.ts';
import { safeEqual } from '../../platform/crypto.ts';

const tags = ['Health'];
const Status = Type.Object({ status: Type.String() });
const Pointer = Type.Object({ docs: Type.String(), openapi: Type.String() });

export const healthRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps; metrics: Registry }> = async (
  app,
  { deps, metrics },
) => {
  // Whether this node hears the database's change notifications: 0 means its credential caches
  // are paused (every request reads the database) until the connection is back — alert on it.
  new Gauge({
    name: 'orgplane_change_feed_up',
    help: '1 while this node hears credential-change notifications; 0 while its caches are paused',
    registers: [metrics],
    collect() {
      this.set(deps.caches.hearing ? 1 : 0);
    },
  });

  // Someone who opens the server's address in a browser (or curls it) is sent somewhere useful: the
  // API docs for now; the web console will take this over when it exists.
  app.get(
    '/',
    {
      config: { auth: 'public' },
      schema: { tags, summary: 'Points to the API docs (302 to /docs)', response: { 302: Pointer } },
    },
    async (_request, reply) =>
      reply.code(302).header('location', '/docs').send({ docs: '/docs', openapi: '/api/v1/openapi.json' }),
  );

  app.get(
    '/healthz',
    { config: { auth: 'public' }, schema: { tags, summary: 'Liveness', response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: { tags, summary: 'Readiness: database answers, migrations applied', response: { 200: Status } },
    },
    async (request, reply) => {
      if (await deps.isReady()) return { status: 'ready' };
      return sendProblem(
        reply,
        problemBody(503, 'not_ready', 'The database is unreachable or migrations are pending.', request.id),
      );
    },
  );

  app.get(
    '/metrics',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Prometheus metrics (Bearer ORGPLANE_METRICS_TOKEN when that is set)',
        produces: ['text/plain'],
      },
    },
    async (request, reply) => {
      const expected = deps.config.metricsToken;
      if (expected) {
        const given = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
        if (!safeEqual(given, expected)) {
          return sendProblem(
            reply,
            problemBody(
              401,
              'unauthorized',
              'Metrics need the token configured in ORGPLANE_METRICS_TOKEN.',
              request.id,
            ),
            { 'www-authenticate': 'Bearer' },
          );
        }
      }
      reply.type(metrics.contentType);
      return metrics.metrics();
    },
  );
};
