// The CLI login's browser page, at the request's `verification_url` (/cli-login?request_id=&secret=):
// the user sees what asks to sign in, enters their password, and the request is approved for them in
// their default org — the same approval as POST /api/v1/auth/cli-login-requests/{id}/token.
// Server-rendered, scriptless, never framed or cached; the form is CSRF-protected (an HMAC bound to
// the request). The secret rides in the query string and the form body: the access log redacts
// `secret=` query values and never logs bodies.
import formBody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AppDeps } from '../../app-deps.ts';
import { originOf } from '../../http/guard.ts';
import { PAGE_HEADERS } from '../../http/hosted-pages.ts';
import { ProblemError } from '../../http/problem.ts';
import { hmacHex, safeEqual } from '../../platform/crypto.ts';
import type { UserRow } from '../auth/repo.ts';
import { checkSecondFactor, needsSecondFactor } from '../auth/second-factor.ts';
import { verifyPasswordSignIn } from '../auth/service.ts';
import { approvalPage, approvedPage, type CliLoginRequestView, requestProblemPage } from './pages.ts';
import { approveCliLoginAsUser, CLI_LOGIN_LIFETIME_SECONDS, describeCliLoginRequest } from './service.ts';

const PATH = '/cli-login';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface PageAnswer {
  status: number;
  html: string;
}

// What the page says when it cannot act on the request; 404 alike for an unknown id and a wrong secret.
const NOT_VALID: PageAnswer = {
  status: 404,
  html: requestProblemPage(
    'This sign-in request is not valid',
    'The link is incomplete or wrong, or the request no longer exists.',
  ),
};
const EXPIRED: PageAnswer = {
  status: 410,
  html: requestProblemPage(
    'This sign-in request has expired',
    `A CLI sign-in request must be approved within ${CLI_LOGIN_LIFETIME_SECONDS / 60} minutes of being started.`,
  ),
};
const USED: PageAnswer = {
  status: 409,
  html: requestProblemPage(
    'This sign-in request was already approved',
    'A CLI sign-in request is approved once; this one cannot be approved again.',
  ),
};
const FORGED: PageAnswer = {
  status: 403,
  html: requestProblemPage(
    'This form cannot be used',
    'The form expired or did not come from this site, so nothing was done.',
  ),
};

/** A query or form field as a string ('' when absent or repeated). */
function field(source: unknown, name: string): string {
  const value = (source as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

export const cliLoginPageRoutes: FastifyPluginAsync<{ deps: AppDeps }> = async (app, { deps }) => {
  // Encapsulated: urlencoded bodies are accepted on this page's routes only.
  await app.register(async (pages) => pageRoutes(pages, deps));
};

async function pageRoutes(app: FastifyInstance, deps: AppDeps) {
  await app.register(formBody);
  const csrfFor = (requestId: string) =>
    hmacHex(deps.vault.masterKey.derive('cli-login-csrf'), `cli-login:${requestId}`);
  const send = (reply: FastifyReply, answer: PageAnswer) =>
    reply.code(answer.status).headers(PAGE_HEADERS).send(answer.html);

  /** The request while it can still be approved, or the page saying why not. */
  const pendingRequest = async (
    id: string,
    secret: string,
  ): Promise<{ view: CliLoginRequestView } | { refused: PageAnswer }> => {
    if (!UUID.test(id) || secret.length === 0 || secret.length > 256) return { refused: NOT_VALID };
    let view: CliLoginRequestView;
    try {
      view = await describeCliLoginRequest(deps, id, secret);
    } catch (error) {
      if (error instanceof ProblemError && error.status === 404) return { refused: NOT_VALID };
      throw error;
    }
    if (view.status === 'expired') return { refused: EXPIRED };
    if (view.status !== 'pending') return { refused: USED };
    return { view };
  };

  app.get(PATH, { config: { auth: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const id = field(request.query, 'request_id');
    const secret = field(request.query, 'secret');
    const found = await pendingRequest(id, secret);
    if ('refused' in found) return send(reply, found.refused);
    return send(reply, {
      status: 200,
      html: approvalPage({ request: found.view, secret, csrf: csrfFor(found.view.request_id) }),
    });
  });

  app.post(PATH, { config: { auth: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const body = request.body;
    const id = field(body, 'request_id');
    const secret = field(body, 'secret');
    const csrf = field(body, 'csrf');
    if (!UUID.test(id) || !safeEqual(csrf, csrfFor(id))) return send(reply, FORGED);
    const found = await pendingRequest(id, secret);
    if ('refused' in found) return send(reply, found.refused);

    const email = field(body, 'email');
    const password = field(body, 'password');
    const form = { request: found.view, secret, csrf: csrfFor(id), email };
    if (!email.trim() || !password) {
      return send(reply, {
        status: 400,
        html: approvalPage({ ...form, error: 'Enter your email and password.' }),
      });
    }
    const origin = originOf(request);
    let user: UserRow;
    try {
      user = await verifyPasswordSignIn(deps, origin, { email, password });
    } catch (error) {
      if (!(error instanceof ProblemError) || error.status >= 500) throw error;
      const retryAfter = error.extra.headers?.['retry-after'];
      if (error.status === 429 && retryAfter) reply.header('retry-after', retryAfter);
      return send(reply, {
        status: error.status === 429 ? 429 : 400,
        html: approvalPage({ ...form, error: error.detail }),
      });
    }

    // Two-factor accounts also give a current code (wrong codes count like wrong passwords).
    if (await needsSecondFactor(deps, user.id)) {
      const checked = await checkSecondFactor(deps, user.id, field(body, 'code'));
      if (!checked.ok) {
        if (checked.retryAfterSeconds) reply.header('retry-after', String(checked.retryAfterSeconds));
        return send(reply, {
          status: checked.status,
          html: approvalPage({ ...form, error: checked.message }),
        });
      }
    }

    let approval: { token: string; expires_at: string };
    try {
      approval = await approveCliLoginAsUser(deps, origin, user, id, secret);
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      if (error.code === 'cli_login_not_allowed') {
        return send(reply, { status: 403, html: approvalPage({ ...form, notAllowed: true }) });
      }
      // Expired or approved (another tab) since the check above.
      if (error.status === 410) return send(reply, EXPIRED);
      if (error.status === 409) return send(reply, USED);
      if (error.status === 404) return send(reply, NOT_VALID);
      throw error;
    }
    return send(reply, {
      status: 200,
      html: approvedPage({
        clientName: found.view.client_name,
        token: approval.token,
        expiresAt: approval.expires_at,
      }),
    });
  });
}
