import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, originOf } from '../../http/guard.ts';
import { TokenResponse } from '../auth/schemas.ts';
import {
  CliLoginRequest,
  CliLoginRequestParams,
  CliLoginRequestQuery,
  CreateCliLoginRequestBody,
  CreatedCliLoginRequest,
  OneTimeToken,
  PollResponse,
  RedeemBody,
  SecretBody,
} from './schemas.ts';
import {
  approveCliLogin,
  CLI_LOGIN_LIFETIME_SECONDS,
  createCliLoginRequest,
  describeCliLoginRequest,
  pollCliLogin,
  redeemCliLoginToken,
} from './service.ts';

const tags = ['Authentication'];
const base = '/api/v1/auth/cli-login-requests';

const CREATE_DESCRIPTION = `Step 1 of the CLI login: the CLI opens a request and shows the user \`verification_url\`, where they approve it in a browser in which they are signed in. The request lives ${CLI_LOGIN_LIFETIME_SECONDS / 60} minutes. \`secret\` is in this response only: the CLI polls with it (POST …/{request_id}/poll). The body (\`client_name\`) is optional. Throttled per client IP (429 with Retry-After).`;

const TOKEN_DESCRIPTION =
  'Approves the request for the caller, acting in the org their session acts in, and returns a one-time `fl_clt_` token (valid until the request expires) for a CLI that cannot poll. Requires the profile setting `allow_cli_login_access` (403 `cli_login_not_allowed` otherwise; PATCH /api/v1/me turns it on). 404 for an unknown request or a wrong secret, 410 `cli_login_request_expired`, 409 `cli_login_request_used` once approved.';

const POLL_DESCRIPTION =
  'The waiting CLI asks, every few seconds, with the secret it got at creation: `{status: "pending"}` until a user approves the request, then — exactly once — a sign-in for that user (the same tokens as POST /api/v1/auth/login). Afterwards 410 `cli_login_request_used`; past its expiry 410 `cli_login_request_expired`; a wrong secret 404; 403 `cli_login_not_allowed` if the approver has since turned CLI login access off (the request is then spent). Throttled per client IP.';

const REDEEM_DESCRIPTION =
  'The paste path: the one-time `fl_clt_` token from the approval, for a sign-in of the approving user (the same tokens as POST /api/v1/auth/login). Consumes the request: of a poll and a redemption, whichever comes first wins and the other gets 410 `cli_login_request_used`. Throttled per client IP.';

export const cliLoginRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    base,
    {
      config: { auth: 'public' },
      // The body is optional: none at all reads as `{}`.
      preValidation: (request, _reply, done) => {
        request.body ??= {};
        done();
      },
      schema: {
        tags,
        summary: 'Start a CLI login (request-bound browser approval)',
        description: CREATE_DESCRIPTION,
        body: CreateCliLoginRequestBody,
        response: { 201: CreatedCliLoginRequest },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createCliLoginRequest(deps, originOf(request), request.body)),
  );

  app.get(
    `${base}/:request_id`,
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Check a CLI login request before approving it',
        description:
          'For the approval page: who asks (client name, IP and user agent at creation) and the request status. 404 for an unknown request or a wrong secret.',
        params: CliLoginRequestParams,
        querystring: CliLoginRequestQuery,
        response: { 200: CliLoginRequest },
      },
    },
    async (request) => describeCliLoginRequest(deps, request.params.request_id, request.query.secret),
  );

  app.post(
    `${base}/:request_id/token`,
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Approve a CLI login request and get its one-time token',
        description: TOKEN_DESCRIPTION,
        params: CliLoginRequestParams,
        body: SecretBody,
        response: { 200: OneTimeToken },
      },
    },
    async (request) =>
      approveCliLogin(deps, actorOf(request), request.params.request_id, request.body.secret),
  );

  app.post(
    `${base}/:request_id/poll`,
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Poll a CLI login request for its session',
        description: POLL_DESCRIPTION,
        params: CliLoginRequestParams,
        body: SecretBody,
        response: { 200: PollResponse },
      },
    },
    async (request) => pollCliLogin(deps, originOf(request), request.params.request_id, request.body.secret),
  );

  app.post(
    '/api/v1/auth/cli-login',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Sign in with a CLI login one-time token',
        description: REDEEM_DESCRIPTION,
        body: RedeemBody,
        response: { 200: TokenResponse },
      },
    },
    async (request) => redeemCliLoginToken(deps, originOf(request), request.body.token),
  );
};
