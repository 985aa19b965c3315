import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../app-deps.ts';
import { actorOf, originOf, principalOf } from '../../http/guard.ts';
import { NoContent } from '../../http/schema-helpers.ts';
import {
  Jwks,
  LoginBody,
  RefreshBody,
  SignupBody,
  SignupResponse,
  SwitchOrgBody,
  TokenResponse,
  WhoamiResponse,
} from './schemas.ts';
import { login, logout, refresh, signup, switchOrg, whoamiJson } from './service.ts';

const tags = ['Authentication'];

export const authRoutes: FastifyPluginAsyncTypebox<{ deps: AppDeps }> = async (app, { deps }) => {
  app.post(
    '/api/v1/auth/signup',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Create an account and its personal organization',
        body: SignupBody,
        response: { 201: SignupResponse },
      },
    },
    async (request, reply) => reply.code(201).send(await signup(deps, originOf(request), request.body)),
  );

  app.post(
    '/api/v1/auth/login',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Sign in with email and password',
        body: LoginBody,
        response: { 200: TokenResponse },
      },
    },
    async (request) => login(deps, originOf(request), request.body),
  );

  app.post(
    '/api/v1/auth/refresh',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Rotate a refresh token (the old one stops working; replaying it ends the session)',
        body: RefreshBody,
        response: { 200: TokenResponse },
      },
    },
    async (request) => refresh(deps, originOf(request), request.body.refresh_token),
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'End the session the refresh token belongs to',
        body: RefreshBody,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      await logout(deps, originOf(request), request.body.refresh_token);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/auth/switch-org',
    {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Get tokens that act in another org you belong to',
        body: SwitchOrgBody,
        response: { 200: TokenResponse },
      },
    },
    async (request) => switchOrg(deps, actorOf(request), request.body.org_id),
  );

  app.get(
    '/api/v1/auth/whoami',
    {
      config: { auth: 'user', allow: ['user', 'api_key', 'deploy_token'], delegated: true },
      schema: { tags, summary: 'Describe the calling credential', response: { 200: WhoamiResponse } },
    },
    // Sent as prepared JSON text: the hot path of every integration's credential check.
    // Not async: no promise per request. (A string is sent as is; the schema above still documents
    // the shape whoamiJson produces.)
    (request, reply) => {
      reply.type('application/json; charset=utf-8').send(whoamiJson(principalOf(request)) as never);
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['Discovery'],
        summary: 'Public keys that verify access tokens',
        response: { 200: Jwks },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return deps.keys.jwks();
    },
  );
};
