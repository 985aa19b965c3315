// buildApp(deps): global hooks and each module's routes. No logic lives here.
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { AppDeps } from './app-deps.ts';
import { closeConnectionsOnShutdown } from './http/graceful-close.ts';
import { registerGuard } from './http/guard.ts';
import { registerMetrics } from './http/metrics.ts';
import { registerOpenApi } from './http/openapi.ts';
import { frameworkErrorProblem, registerProblemHandlers } from './http/problem.ts';
import { registerValidation } from './http/validation.ts';
import { apiKeyRoutes } from './modules/api-keys/routes.ts';
import { auditRoutes } from './modules/audit/routes.ts';
import { authRoutes } from './modules/auth/routes.ts';
import { cliLoginPageRoutes } from './modules/cli-login/page-routes.ts';
import { cliLoginRoutes } from './modules/cli-login/routes.ts';
import { credentialRoutes } from './modules/credentials/routes.ts';
import { credentialResolver } from './modules/credentials/service.ts';
import { deploymentRoutes } from './modules/deployments/routes.ts';
import { environmentRoutes } from './modules/environments/routes.ts';
import { healthRoutes } from './modules/health/routes.ts';
import { hostedServiceRoutes } from './modules/hosted-services/routes.ts';
import { meRoutes } from './modules/me/routes.ts';
import { memberRoutes } from './modules/members/routes.ts';
import { mfaRoutes } from './modules/mfa/routes.ts';
import { oauthRoutes } from './modules/oauth/routes.ts';
import { oauthClientRoutes } from './modules/oauth-clients/routes.ts';
import { orgRoutes } from './modules/orgs/routes.ts';
import { workspaceRoutes } from './modules/workspaces/routes.ts';
import { stdoutDestination } from './platform/log-destination.ts';
import { AccessLogController, LazyRequestLogger, loggerOptions } from './platform/logger.ts';

export interface BuildOptions {
  /** false silences logs (tests). Default: JSON logs at config.logLevel. */
  logger?: false;
  /**
   * Where JSON log lines go (default: stdout, buffered and bounded, platform/log-destination.ts);
   * tests capture them to prove secrets stay out.
   */
  logDestination?: { write(line: string): void };
}

// A caller's request id is reused (for tracing across services) only if it is short and plain.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// Fastify's types omit the hop-count form, so "N proxies" becomes the function proxy-addr builds for it.
function trustProxyOption(setting: false | number | string[]) {
  return typeof setting === 'number' ? (_address: string, hop: number) => hop < setting : setting;
}

export async function buildApp(deps: AppDeps, options: BuildOptions = {}) {
  const destination = options.logger === false ? null : (options.logDestination ?? stdoutDestination());
  const app = Fastify({
    logger: destination ? { ...loggerOptions(deps.config.logLevel), stream: destination } : false,
    trustProxy: trustProxyOption(deps.config.trustProxy),
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: {
      customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true },
    },
    routerOptions: { ignoreTrailingSlash: true },
    logController: new AccessLogController(destination),
    frameworkErrors: frameworkErrorProblem,
    // A route with its own log level gets a real child at once, and so does the no-op logger of
    // `logger: false` (its child is itself); every other request a lazy one.
    childLoggerFactory: (logger, bindings, options) =>
      options.level || typeof (logger as Partial<Logger>).isLevelEnabled !== 'function'
        ? logger.child(bindings, options)
        : (new LazyRequestLogger(logger as unknown as Logger, bindings) as unknown as typeof logger),
  }).withTypeProvider<TypeBoxTypeProvider>();

  const noteInFlight = closeConnectionsOnShutdown(app);
  app.addHook('onRequest', (request, reply, done) => {
    noteInFlight(request, reply);
    // Many clients send `Content-Type: application/json` on body-less requests (DELETE, archive):
    // there is nothing to parse, so do not fail them as empty JSON.
    const length = request.headers['content-length'];
    const hasBody =
      request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody) delete request.headers['content-type'];
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    // API responses carry tokens and tenant data: never cache them anywhere.
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    done();
  });

  // JSON only: a text/plain body is a client mistake (415), not a string to validate.
  app.removeContentTypeParser('text/plain');
  registerValidation(app);
  const metrics = registerMetrics(app);
  registerProblemHandlers(app, { onNotFound: metrics.observeUnmatched });
  registerGuard(app, credentialResolver(deps));
  await registerOpenApi(app, deps.config.publicUrl);

  await app.register(healthRoutes, { deps, metrics: metrics.registry });
  await app.register(authRoutes, { deps });
  await app.register(orgRoutes, { deps });
  await app.register(memberRoutes, { deps });
  await app.register(workspaceRoutes, { deps });
  await app.register(environmentRoutes, { deps });
  await app.register(auditRoutes, { deps });
  await app.register(apiKeyRoutes, { deps });
  await app.register(credentialRoutes, { deps });
  await app.register(hostedServiceRoutes, { deps });
  await app.register(deploymentRoutes, { deps });
  await app.register(meRoutes, { deps });
  await app.register(mfaRoutes, { deps });
  await app.register(cliLoginRoutes, { deps });
  await app.register(cliLoginPageRoutes, { deps });
  await app.register(oauthClientRoutes, { deps });
  await app.register(oauthRoutes, { deps });
  return app;
}
