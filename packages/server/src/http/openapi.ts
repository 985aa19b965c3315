// OpenAPI 3.1, generated from the route schemas (the same schemas that validate requests and
// serialise responses), served at /api/v1/openapi.json and browsable at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { Problem } from './problem-schema.ts';

export async function registerOpenApi(app: FastifyInstance, publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Orgplane API',
        version: '1.0.0',
        description:
          'Control plane for multi-tenant platforms. Errors are RFC 9457 problem details; lists are ' +
          'cursor-paginated (`limit`, `cursor` → `next_cursor`).',
      },
      servers: [{ url: publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
        schemas: { Problem: Problem as never },
      },
    },
    transform: ({ schema, url, route }) => {
      const auth = (route.config as { auth?: string } | undefined)?.auth;
      const out = { ...(schema as Record<string, unknown>) };
      if (auth && auth !== 'public') out.security = [{ bearer: [] }, { apiKey: [] }];
      const permission = (route.config as { permission?: string } | undefined)?.permission;
      if (permission) {
        out.description = `${out.description ? `${out.description}\n\n` : ''}Requires the \`${permission}\` permission.`;
      }
      if (url.startsWith('/docs')) out.hide = true;
      // Every operation can answer with a problem; say so once per operation for clients and the SDK.
      out.response = {
        ...((out.response as Record<string, unknown> | undefined) ?? {}),
        '4XX': {
          description: 'Problem details (RFC 9457): bad input, credential, permission, not found, conflict',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      };
      return { schema: out as never, url };
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });
  app.get('/api/v1/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
}
