import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerGuard } from './guard.ts';

const resolver = { resolve: async () => null, resolveKnown: () => undefined, isMember: async () => false };

describe('route registration (default deny)', () => {
  it('refuses an API route that does not declare who may call it', async () => {
    const app = Fastify();
    registerGuard(app, resolver);
    expect(() => app.get('/api/v1/forgotten', async () => ({}))).toThrow(/must declare config.auth/);
    await app.close();
  });

  it('refuses an org route without a permission', async () => {
    const app = Fastify();
    registerGuard(app, resolver);
    expect(() =>
      app.get('/api/v1/orgs/:org_id/things', { config: { auth: 'org' } }, async () => ({})),
    ).toThrow(/must declare the permission/);
    await app.close();
  });

  it('covers routes outside /api too (only the docs pages are exempt)', async () => {
    const app = Fastify();
    registerGuard(app, resolver);
    expect(() => app.get('/oauth/authorize', async () => ({}))).toThrow(/must declare config.auth/);
    await app.close();
  });

  it('accepts routes that declare both, and the docs pages', async () => {
    const app = Fastify();
    registerGuard(app, resolver);
    app.get(
      '/api/v1/orgs/:org_id/things',
      { config: { auth: 'org', permission: 'read:org' } },
      async () => ({}),
    );
    app.get('/docs/static/index.html', async () => ({}));
    await app.ready();
    await app.close();
  });
});
