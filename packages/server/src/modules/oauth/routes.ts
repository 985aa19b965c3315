// The OAuth 2.0 / OIDC endpoints (oidc-provider, handed the raw request) and the hosted pages of
// its interactions (sign-in and consent), in the same Fastify server.
import formBody from '@fastify/formbody';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import type Provider from 'oidc-provider';
import { permissionsOf } from '../../access/permissions.ts';
import type { AppDeps } from '../../app-deps.ts';
import { originOf } from '../../http/guard.ts';
import { PAGE_HEADERS } from '../../http/hosted-pages.ts';
import { ProblemError } from '../../http/problem.ts';
import { hmacHex, safeEqual } from '../../platform/crypto.ts';
import { checkSecondFactor, needsSecondFactor } from '../auth/second-factor.ts';
import { verifyPasswordSignIn } from '../auth/service.ts';
import { CLIENT_ORG } from './adapter.ts';
import { consentRoutes } from './consents.ts';
import { consentPage, deviceCodePage, errorPage, loginPage, mfaPage, noOrgPage } from './pages.ts';
import {
  API_RESOURCE,
  apiScopesOf,
  buildProvider,
  loadOidcProvider,
  OAUTH_ROUTES,
  registeredApiScopes,
} from './provider.ts';
import { findAccount, findActiveOrg, membershipsOf, setGrantOrg } from './repo.ts';

/**
 * Requests that go to oidc-provider as they are: everything under /oauth/ (its endpoints, the
 * resume and device-flow pages) but the interaction pages below, and discovery. Its JWKS route
 * (OAUTH_ROUTES.jwks) is ours: the same keys.
 */
const PROVIDER_PATHS = ['/oauth/*', '/.well-known/openid-configuration'];
const DEVICE_VERIFICATION = OAUTH_ROUTES.code_verification;

/**
 * One provider per signing key: rebuilt when the key rotates (every node hears the rotation).
 * oidc-provider itself is loaded on the first OAuth request: a deployment that never uses OAuth
 * keeps its memory (~12 MB) and never turns on its AsyncLocalStorage (ADR 13).
 */
function providerSource(deps: AppDeps, log: FastifyBaseLogger) {
  let loading: ReturnType<typeof loadOidcProvider> | null = null;
  let current: { kid: string; provider: Provider; handle: ReturnType<Provider['callback']> } | null = null;
  return async () => {
    loading ??= loadOidcProvider(log);
    const oidc = await loading;
    const kid = deps.keys.activeKid;
    if (!current || current.kid !== kid) {
      const provider = buildProvider(deps, oidc);
      current = { kid, provider, handle: provider.callback() };
    }
    return current;
  };
}

export const oauthRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (app, { deps }) => {
  const source = providerSource(deps, app.log);
  await app.register(async (raw) => providerRoutes(raw, deps, source));
  await app.register(async (profile) => consentRoutes(profile, deps));
  await app.register(async (pages) => interactionRoutes(pages, deps, async () => (await source()).provider));
};

async function providerRoutes(
  app: FastifyInstance,
  deps: AppDeps,
  source: ReturnType<typeof providerSource>,
) {
  const issuer = new URL(deps.config.publicUrl);
  // oidc-provider reads request bodies itself: Fastify must leave the stream alone.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const handOver = async (request: FastifyRequest, reply: FastifyReply) => {
    // Device-flow user codes are short enough to guess: each IP may enter only so many.
    // (The path as the router sees it: `/oauth/device/` is the same route.)
    const path = (request.url.split('?')[0] ?? '').replace(/\/+$/, '');
    if (request.method === 'POST' && path === DEVICE_VERIFICATION) {
      const rule = deps.config.rateLimits.deviceCodePerIp;
      const state = await deps.limiter.hit(`device-code:ip:${request.ip}`, rule);
      if (state.count > rule.max) {
        return reply
          .code(429)
          .headers({ ...PAGE_HEADERS, 'retry-after': String(state.retryAfterSeconds) })
          .send(
            deviceCodePage(
              '',
              `Too many codes entered from here. Try again in ${state.retryAfterSeconds} seconds.`,
            ),
          );
      }
    }
    // oidc-provider builds its URLs from the request: make them the issuer's, whatever Host or
    // X-Forwarded-* a caller sent (provider.proxy trusts exactly these two headers, set here).
    request.raw.headers.host = issuer.host;
    request.raw.headers['x-forwarded-host'] = issuer.host;
    request.raw.headers['x-forwarded-proto'] = issuer.protocol.replace(':', '');
    reply.hijack();
    const { handle } = await source();
    handle(request.raw, reply.raw);
  };
  for (const path of PROVIDER_PATHS) {
    app.route({
      method: ['GET', 'POST', 'OPTIONS'],
      url: path,
      config: { auth: 'public' },
      schema: { hide: true },
      handler: handOver,
    });
  }
}

interface InteractionParams {
  uid: string;
}

function interactionRoutes(app: FastifyInstance, deps: AppDeps, provider: () => Promise<Provider>) {
  // The pages post HTML forms; only here are urlencoded bodies accepted.
  app.register(formBody);
  // People read these answers in a browser: errors are pages, not problem JSON (a stale or forged
  // form, an interaction whose cookie expired).
  app.setErrorHandler(
    (error: Error & { statusCode?: number; error_description?: string }, request, reply) => {
      const status = error instanceof ProblemError ? error.status : (error.statusCode ?? 500);
      if (status >= 500) request.log.error({ err: error }, 'hosted OAuth page failed');
      const detail =
        error instanceof ProblemError
          ? error.detail
          : status < 500
            ? (error.error_description ??
              'This sign-in request is no longer valid; start again from the application.')
            : 'Something went wrong on our side; start again from the application.';
      return reply
        .code(status)
        .headers(PAGE_HEADERS)
        .send(
          errorPage({ error: status < 500 ? 'invalid_request' : 'server_error', error_description: detail }),
        );
    },
  );
  const csrfFor = (uid: string) => hmacHex(deps.vault.masterKey.derive('oauth-csrf'), `interaction:${uid}`);
  const sendPage = (reply: FastifyReply, status: number, html: string) =>
    reply.code(status).headers(PAGE_HEADERS).send(html);

  const ticketKey = deps.vault.masterKey.derive('oauth-mfa-ticket');
  const TICKET_MS = 5 * 60_000;
  const ticketFor = (uid: string, userId: string) => {
    const payload = `${userId}.${Date.now() + TICKET_MS}`;
    return `${payload}.${hmacHex(ticketKey, `${uid}:${payload}`)}`;
  };
  const userOfTicket = (uid: string, ticket: string): string | null => {
    const [userId = '', expires = '', mac = ''] = ticket.split('.');
    if (!safeEqual(mac, hmacHex(ticketKey, `${uid}:${userId}.${expires}`))) return null;
    return Number(expires) > Date.now() ? userId : null;
  };
  const sendMfaPage = async (
    request: FastifyRequest<{ Params: InteractionParams }>,
    reply: FastifyReply,
    ticket: string,
    error?: string,
    status = 200,
  ) => {
    const op = await provider();
    const details = await op.interactionDetails(request.raw, reply.raw);
    const client = await op.Client.find(String(details.params.client_id));
    return sendPage(
      reply,
      status,
      mfaPage({
        action: `/oauth/interaction/${details.uid}/mfa`,
        csrf: csrfFor(details.uid),
        ticket,
        clientName: client?.clientName ?? 'an application',
        error,
      }),
    );
  };

  const checkCsrf = (request: FastifyRequest<{ Params: InteractionParams }>) => {
    const given = (request.body as { csrf?: unknown } | undefined)?.csrf;
    if (typeof given !== 'string' || !safeEqual(given, csrfFor(request.params.uid))) {
      throw new ProblemError(
        403,
        'csrf_failed',
        'The form expired or did not come from this site; start again.',
      );
    }
  };

  const render = async (
    request: FastifyRequest<{ Params: InteractionParams }>,
    reply: FastifyReply,
    error?: string,
    email?: string,
  ) => {
    const op = await provider();
    const details = await op.interactionDetails(request.raw, reply.raw);
    const client = await op.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? 'an application';
    const base = `/oauth/interaction/${details.uid}`;
    const csrf = csrfFor(details.uid);
    if (details.prompt.name === 'login') {
      return sendPage(
        reply,
        error ? 400 : 200,
        loginPage({ action: `${base}/login`, csrf, clientName, error, email }),
      );
    }
    const accountId = details.session?.accountId;
    const account = accountId ? await findAccount(deps.db, accountId) : undefined;
    const orgs = accountId ? await membershipsOf(deps.db, accountId) : [];
    if (!account || orgs.length === 0) return sendPage(reply, 403, noOrgPage(clientName));
    const clientOrg = await findActiveOrg(deps.db, String(client?.[CLIENT_ORG] ?? ''));
    return sendPage(
      reply,
      error ? 400 : 200,
      consentPage({
        action: `${base}/confirm`,
        abortAction: `${base}/abort`,
        csrf,
        clientName,
        clientOrgName: clientOrg?.name ?? 'another organization',
        scopes: String(details.params.scope ?? '')
          .split(' ')
          .filter(Boolean),
        orgs,
        email: account.email,
        error,
      }),
    );
  };

  app.get<{ Params: InteractionParams }>(
    '/oauth/interaction/:uid',
    { config: { auth: 'public' }, schema: { hide: true } },
    async (request, reply) => render(request, reply),
  );

  app.post<{ Params: InteractionParams }>(
    '/oauth/interaction/:uid/login',
    { config: { auth: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      checkCsrf(request);
      const op = await provider();
      // Throws (answered as an error) when the interaction cookie is missing or expired, before
      // the reply is handed over.
      await op.interactionDetails(request.raw, reply.raw);
      const body = request.body as { email?: unknown; password?: unknown };
      const email = typeof body.email === 'string' ? body.email : '';
      const password = typeof body.password === 'string' ? body.password : '';
      let userId: string;
      try {
        userId = (await verifyPasswordSignIn(deps, originOf(request), { email, password })).id;
      } catch (error) {
        if (error instanceof ProblemError && error.status < 500) {
          if (error.extra.headers) reply.headers(error.extra.headers);
          return render(request, reply, error.detail, email);
        }
        throw error;
      }
      if (await needsSecondFactor(deps, userId)) {
        return sendMfaPage(request, reply, ticketFor(request.params.uid, userId));
      }
      reply.hijack();
      await op.interactionFinished(
        request.raw,
        reply.raw,
        { login: { accountId: userId } },
        { mergeWithLastSubmission: false },
      );
    },
  );

  // The MFA prompt: the password step hands over a short-lived ticket, bound to this interaction
  // and signed, naming the user whose password was right.
  app.post<{ Params: InteractionParams }>(
    '/oauth/interaction/:uid/mfa',
    { config: { auth: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      checkCsrf(request);
      const op = await provider();
      await op.interactionDetails(request.raw, reply.raw);
      const body = request.body as { ticket?: unknown; code?: unknown };
      const ticket = typeof body.ticket === 'string' ? body.ticket : '';
      const userId = userOfTicket(request.params.uid, ticket);
      if (!userId) return render(request, reply, 'That sign-in took too long; enter your password again.');
      const checked = await checkSecondFactor(deps, userId, typeof body.code === 'string' ? body.code : '');
      if (!checked.ok) {
        if (checked.retryAfterSeconds) reply.header('retry-after', String(checked.retryAfterSeconds));
        return sendMfaPage(request, reply, ticket, checked.message, checked.status);
      }
      reply.hijack();
      await op.interactionFinished(
        request.raw,
        reply.raw,
        { login: { accountId: userId, amr: ['pwd', 'otp'] } },
        { mergeWithLastSubmission: false },
      );
    },
  );

  app.post<{ Params: InteractionParams }>(
    '/oauth/interaction/:uid/confirm',
    { config: { auth: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      checkCsrf(request);
      const op = await provider();
      const details = await op.interactionDetails(request.raw, reply.raw);
      const accountId = details.session?.accountId;
      if (details.prompt.name !== 'consent' || !accountId) return render(request, reply);
      const orgId = String((request.body as { org_id?: unknown }).org_id ?? '').toLowerCase();
      const membership = (await membershipsOf(deps.db, accountId)).find((org) => org.id === orgId);
      if (!membership) return render(request, reply, 'Choose one of your organizations.');
      // A user grants no more than their role holds in the chosen org (checked again at every use).
      const roleAllows = permissionsOf(membership.role);
      const client = await op.Client.find(String(details.params.client_id));
      const registered = new Set(registeredApiScopes(client));
      const granted = apiScopesOf(String(details.params.scope ?? '')).filter(
        (scope) => registered.has(scope) && roleAllows.has(scope as never),
      );
      const { Grant } = op;
      const grant =
        (details.grantId ? await Grant.find(details.grantId) : undefined) ??
        new Grant({ accountId, clientId: String(details.params.client_id) });
      const promptDetails = details.prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
      };
      if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
      if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
      grant.addResourceScope(API_RESOURCE, granted.join(' '));
      // What the user cannot grant is recorded as refused, so it is not asked again.
      const refused = apiScopesOf(String(details.params.scope ?? '')).filter(
        (scope) => !granted.includes(scope),
      );
      if (refused.length) grant.rejectResourceScope(API_RESOURCE, refused.join(' '));
      const grantId = await grant.save();
      await setGrantOrg(deps.db, grantId, orgId);
      reply.hijack();
      await op.interactionFinished(
        request.raw,
        reply.raw,
        { consent: { grantId } },
        { mergeWithLastSubmission: true },
      );
    },
  );

  app.post<{ Params: InteractionParams }>(
    '/oauth/interaction/:uid/abort',
    { config: { auth: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      checkCsrf(request);
      const op = await provider();
      await op.interactionDetails(request.raw, reply.raw);
      reply.hijack();
      await op.interactionFinished(
        request.raw,
        reply.raw,
        { error: 'access_denied', error_description: 'The user denied the request.' },
        { mergeWithLastSubmission: false },
      );
    },
  );
}
