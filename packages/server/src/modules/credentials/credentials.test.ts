import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import {
  addMember,
  newUser,
  PASSWORD,
  type TestUser,
  tokenFor,
  useTestServer,
} from '../../../../../test/harness.ts';
import { createAccount } from '../auth/service.ts';

const ADMIN_EMAIL = `ops-${process.pid}@example.com`;
const server = useTestServer({ ORGPLANE_PLATFORM_ADMIN_EMAILS: ADMIN_EMAIL });
const ISSUER = 'http://orgplane.test';

async function keyOf(owner: TestUser, body: Record<string, unknown>) {
  const created = await server.request('POST', `/api/v1/orgs/${owner.orgId}/api-keys`, {
    token: owner.token,
    body: { name: 'key', ...body },
  });
  if (created.status !== 201) throw new Error(`key creation failed: ${created.status} ${created.text}`);
  return { id: created.body.id as string, key: created.body.key as string };
}

const exchange = (body: Record<string, unknown>) => server.request('POST', '/api/v1/auth/token', { body });
const introspect = (token: string, as: { token?: string; headers?: Record<string, string> }) =>
  server.request('POST', '/api/v1/auth/introspect', { ...as, body: { token } });

describe('POST /api/v1/auth/token (API key → JWT)', () => {
  it('issues an ES256 JWT verifiable with the JWKS, carrying the key’s org, scopes and ttl', async () => {
    const owner = await newUser(server);
    const { id, key } = await keyOf(owner, { scopes: ['read:org', 'read:workspaces'] });
    const response = await exchange({ api_key: key, ttl_minutes: 15 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    const jwks = createLocalJWKSet((await server.request('GET', '/.well-known/jwks.json')).body);
    const { payload, protectedHeader } = await jwtVerify(response.body.access_token, jwks, {
      issuer: ISSUER,
      audience: ISSUER,
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    expect(payload).toMatchObject({ sub: owner.userId, org_id: owner.orgId, api_key_id: id, client_id: id });
    expect((payload.scope as string).split(' ').sort()).toEqual(['read:org', 'read:workspaces']);
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);

    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: response.body.access_token });
    expect(whoami.body).toMatchObject({
      organization: { id: owner.orgId },
      credential: { type: 'access_token', api_key_id: id },
    });
    expect(whoami.body.scopes.sort()).toEqual(['read:org', 'read:workspaces']);
    const write = await server.request('POST', `/api/v1/orgs/${owner.orgId}/workspaces`, {
      token: response.body.access_token,
      body: { name: 'x' },
    });
    expect(write.status).toBe(403);
  });

  it('defaults to 60 minutes and bounds ttl_minutes to 1–1440', async () => {
    const owner = await newUser(server);
    const { key } = await keyOf(owner, { scopes: ['read:org'] });
    expect((await exchange({ api_key: key })).body.expires_in).toBe(3600);
    expect((await exchange({ api_key: key, ttl_minutes: 1440 })).status).toBe(200);
    for (const ttl of [0, 1441, -5, 1.5, '60']) {
      const response = await exchange({ api_key: key, ttl_minutes: ttl });
      expect(response.status, `ttl ${ttl}`).toBe(400);
      expect(response.body.errors[0].path).toBe('body.ttl_minutes');
    }
  });

  it('never outlives the key', async () => {
    const owner = await newUser(server);
    const { key } = await keyOf(owner, {
      scopes: ['read:org'],
      expires_at: new Date(Date.now() + 120_000).toISOString(),
    });
    const response = await exchange({ api_key: key, ttl_minutes: 60 });
    expect(response.body.expires_in).toBeLessThanOrEqual(120);
    expect(response.body.expires_in).toBeGreaterThan(100);
  });

  it('refuses bad, revoked and foreign-format keys with 401, an archived org with 403', async () => {
    const owner = await newUser(server);
    const { id, key } = await keyOf(owner, { scopes: ['read:org'] });
    for (const bad of ['nope', 'fl_x', owner.token, owner.refreshToken]) {
      const response = await exchange({ api_key: bad, ttl_minutes: 5 });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('invalid_api_key');
    }
    const token = (await exchange({ api_key: key, ttl_minutes: 5 })).body.access_token;
    await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, { token: owner.token });
    expect((await exchange({ api_key: key, ttl_minutes: 5 })).body.code).toBe('org_archived');
    await server.request('POST', `/api/v1/orgs/${owner.orgId}/restore`, { token: owner.token });
    // Revoking the key stops the JWTs exchanged for it, too.
    expect((await server.request('GET', '/api/v1/auth/whoami', { token })).status).toBe(200);
    await server.request('DELETE', `/api/v1/orgs/${owner.orgId}/api-keys/${id}`, { token: owner.token });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token })).status).toBe(401);
    expect((await exchange({ api_key: key, ttl_minutes: 5 })).status).toBe(401);
  });

  it('an exchanged token shrinks with its key’s creator and counts against the key’s rate limit', async () => {
    const owner = await newUser(server);
    const admin = await newUser(server, 'admin');
    await addMember(server, owner.orgId, admin.userId, 'admin');
    const adminInOrg = { ...admin, orgId: owner.orgId, token: await tokenFor(server, admin, owner.orgId) };
    const { key } = await keyOf(adminInOrg, {
      scopes: ['read:workspaces', 'write:workspaces'],
      rate_limit: { requests: 4, per_seconds: 60 },
    });
    const token = (await exchange({ api_key: key, ttl_minutes: 5 })).body.access_token; // 1
    const base = `/api/v1/orgs/${owner.orgId}/workspaces`;
    expect((await server.request('POST', base, { token, body: { name: 'a' } })).status).toBe(201); // 2
    await server.request('PATCH', `/api/v1/orgs/${owner.orgId}/members/${admin.userId}`, {
      token: owner.token,
      body: { role: 'viewer' },
    });
    expect((await server.request('POST', base, { token, body: { name: 'b' } })).status).toBe(403); // 3
    expect((await server.request('GET', base, { token })).status).toBe(200); // 4
    const limited = await server.request('GET', base, { token });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
  });
});

describe('token exchange reuse', () => {
  it('an identical exchange moments later gets the same token; any change to the key ends that', async () => {
    const owner = await newUser(server);
    const { id, key } = await keyOf(owner, { scopes: ['read:org', 'read:workspaces'] });
    const first = (await exchange({ api_key: key, ttl_minutes: 10 })).body;
    const again = (await exchange({ api_key: key, ttl_minutes: 10 })).body;
    expect(again.access_token).toBe(first.access_token);
    expect(again.expires_in).toBeLessThanOrEqual(600);
    expect(again.expires_in).toBeGreaterThanOrEqual(598);
    // Another ttl is another token.
    expect((await exchange({ api_key: key, ttl_minutes: 11 })).body.access_token).not.toBe(
      first.access_token,
    );
    // A rate-limit change (any change to the key) drops what was issued.
    await server.request('PATCH', `/api/v1/orgs/${owner.orgId}/api-keys/${id}`, {
      token: owner.token,
      body: { description: 'changed', rate_limit: { requests: 100, per_seconds: 60 } },
    });
    expect((await exchange({ api_key: key, ttl_minutes: 10 })).body.access_token).not.toBe(
      first.access_token,
    );
  });

  it('is off with ORGPLANE_TOKEN_EXCHANGE_REUSE_SECONDS=0', async () => {
    const { startTestServer } = await import('../../../../../test/harness.ts');
    const strict = await startTestServer({ ORGPLANE_TOKEN_EXCHANGE_REUSE_SECONDS: '0' });
    try {
      const owner = await newUser(strict);
      const created = await strict.request('POST', `/api/v1/orgs/${owner.orgId}/api-keys`, {
        token: owner.token,
        body: { name: 'k', scopes: ['read:org'] },
      });
      const one = await strict.request('POST', '/api/v1/auth/token', { body: { api_key: created.body.key } });
      const two = await strict.request('POST', '/api/v1/auth/token', { body: { api_key: created.body.key } });
      expect(one.body.access_token).not.toBe(two.body.access_token);
    } finally {
      await strict.close();
    }
  });
});

describe('POST /api/v1/auth/introspect', () => {
  it('describes API keys, JWTs (login and exchanged) of the caller’s org', async () => {
    const owner = await newUser(server);
    const { id, key } = await keyOf(owner, { scopes: ['read:org'] });
    const asOwner = { token: owner.token };

    const ofKey = await introspect(key, asOwner);
    expect(ofKey.status).toBe(200);
    expect(ofKey.body).toMatchObject({
      active: true,
      token_type: 'api_key',
      scope: 'read:org',
      sub: owner.userId,
      org_id: owner.orgId,
      client_id: id,
    });

    const ofLogin = await introspect(owner.token, asOwner);
    const claims = decodeJwt(owner.token);
    expect(ofLogin.body).toMatchObject({
      active: true,
      token_type: 'access_token',
      sub: owner.userId,
      org_id: owner.orgId,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      iss: ISSUER,
    });
    expect(ofLogin.body.scope.split(' ')).toContain('delete:org');

    const exchanged = (await exchange({ api_key: key, ttl_minutes: 5 })).body.access_token;
    // Introspection also works for a caller authenticated with an API key.
    const ofExchanged = await introspect(exchanged, { headers: { 'x-api-key': key } });
    expect(ofExchanged.body).toMatchObject({ active: true, api_key_id: id, scope: 'read:org' });
  });

  it('answers active:false for garbage, refresh tokens, revoked keys and other orgs’ tokens', async () => {
    const owner = await newUser(server);
    const stranger = await newUser(server);
    const { id, key } = await keyOf(owner, { scopes: ['read:org'] });
    for (const token of ['garbage', 'fl_nope', `${key}0`, 'a.b.c', owner.refreshToken, 'x'.repeat(5000)]) {
      const response = await introspect(token, { token: owner.token });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ active: false });
    }
    expect((await introspect(key, { token: stranger.token })).body).toEqual({ active: false });
    expect((await introspect(owner.token, { token: stranger.token })).body).toEqual({ active: false });
    await server.request('DELETE', `/api/v1/orgs/${owner.orgId}/api-keys/${id}`, { token: owner.token });
    expect((await introspect(key, { token: owner.token })).body).toEqual({ active: false });
  });

  it('needs a credential (401) and a workspace-bound caller sees only its workspace', async () => {
    expect((await server.request('POST', '/api/v1/auth/introspect', { body: { token: 'x' } })).status).toBe(
      401,
    );
    const owner = await newUser(server);
    const ws = await server.request('POST', `/api/v1/orgs/${owner.orgId}/workspaces`, {
      token: owner.token,
      body: { name: 'w' },
    });
    const bound = await keyOf(owner, { scopes: ['read:workspaces'], workspace_id: ws.body.id });
    const orgWide = await keyOf(owner, { scopes: ['read:org'] });
    const asBound = { headers: { 'x-api-key': bound.key } };
    expect((await introspect(bound.key, asBound)).body).toMatchObject({
      active: true,
      workspace_id: ws.body.id,
    });
    expect((await introspect(orgWide.key, asBound)).body).toEqual({ active: false });
  });
});

describe('signing-key rotation', () => {
  it('a new kid signs, tokens of the old one keep working, the JWKS lists both', async () => {
    const owner = await newUser(server);
    const before = decodeProtectedHeader(owner.token).kid;
    const newKid = await server.deps.keys.rotate();
    expect(newKid).not.toBe(before);
    const jwks = (await server.request('GET', '/.well-known/jwks.json')).body;
    expect(jwks.keys.map((key: { kid: string }) => key.kid)).toEqual(
      expect.arrayContaining([before, newKid]),
    );
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: owner.token })).status).toBe(200);
    const again = await server.request('POST', '/api/v1/auth/login', {
      body: { email: owner.email, password: PASSWORD },
    });
    expect(decodeProtectedHeader(again.body.access_token).kid).toBe(newKid);
    const { key } = await keyOf(owner, { scopes: ['read:org'] });
    const exchanged = (await exchange({ api_key: key, ttl_minutes: 5 })).body.access_token;
    expect(decodeProtectedHeader(exchanged).kid).toBe(newKid);
  });
});

describe('POST /api/v1/admin/signing-keys/rotate', () => {
  it('platform administrators rotate; anyone else gets 403', async () => {
    const user = await newUser(server);
    const refused = await server.request('POST', '/api/v1/admin/signing-keys/rotate', { token: user.token });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('platform_admin_required');

    const origin = { ip: '127.0.0.1', requestId: 'test', userAgent: null };
    await createAccount(
      server.deps,
      origin,
      { email: ADMIN_EMAIL, password: PASSWORD },
      { createdOnServer: true },
    );
    const login = await server.request('POST', '/api/v1/auth/login', {
      body: { email: ADMIN_EMAIL, password: PASSWORD },
    });
    const rotated = await server.request('POST', '/api/v1/admin/signing-keys/rotate', {
      token: login.body.access_token,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.kid).not.toBe(decodeProtectedHeader(login.body.access_token).kid);
    // The admin's own token, signed by the old key, still works.
    expect(
      (await server.request('GET', '/api/v1/auth/whoami', { token: login.body.access_token })).status,
    ).toBe(200);
    const jwks = (await server.request('GET', '/.well-known/jwks.json')).body;
    expect(jwks.keys.map((key: { kid: string }) => key.kid)).toContain(rotated.body.kid);
  });
});

describe('regressions from review', () => {
  it('introspection answers active:false for credentials of an archived org', async () => {
    const owner = await newUser(server);
    const { key } = await keyOf(owner, { scopes: ['read:org'] });
    await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, { token: owner.token });
    const response = await introspect(key, { token: owner.token });
    expect(response.body).toEqual({ active: false });
  });

  it('a cached access token stops at its sign-in’s absolute expiry (no row changes then)', async () => {
    const { startTestServer } = await import('../../../../../test/harness.ts');
    const short = await startTestServer({ ORGPLANE_SESSION_MAX_AGE_SECONDS: '300' });
    try {
      const owner = await newUser(short);
      const who = () => short.request('GET', '/api/v1/auth/whoami', { token: owner.token });
      expect((await who()).status).toBe(200); // now cached on this node
      // Five minutes later the sign-in has ended, though the access token's own exp (1 h) has not.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 301_000);
      expect((await who()).status).toBe(401);
    } finally {
      vi.useRealTimers();
      await short.close();
    }
  });

  it('an exchanged 24-hour token keeps verifying for its whole life after a key rotation', async () => {
    const owner = await newUser(server);
    const { key } = await keyOf(owner, { scopes: ['read:org'] });
    const jwt = (await exchange({ api_key: key, ttl_minutes: 1440 })).body.access_token;
    await server.deps.keys.rotate();
    await sql`UPDATE signing_keys SET retired_at = now() - interval '20 hours' WHERE status = 'retired'`.execute(
      server.deps.db,
    );
    await server.deps.keys.refresh();
    server.deps.caches.onHearing(false); // forget every verification this node made
    server.deps.caches.onHearing(true);
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: jwt })).status).toBe(200);
    const kid = decodeProtectedHeader(jwt).kid;
    const jwks = (await server.request('GET', '/.well-known/jwks.json')).body;
    expect(jwks.keys.map((entry: { kid: string }) => entry.kid)).toContain(kid);
  });
});
