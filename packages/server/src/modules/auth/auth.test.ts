import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { addMember, newUser, onPostgres, PASSWORD, useTestServer } from '../../../../../test/harness.ts';

const server = useTestServer();

describe('signup', () => {
  it('creates the user and a personal org the user owns', async () => {
    const response = await server.request('POST', '/api/v1/auth/signup', {
      body: { email: 'Ada@Example.com', password: PASSWORD, name: 'Ada' },
    });
    expect(response.status).toBe(201);
    expect(response.body.user).toMatchObject({ email: 'Ada@Example.com', name: 'Ada' });
    expect(response.body.organization.slug).toMatch(/^[a-z0-9-]+$/);
    const membership = await server.deps.db
      .selectFrom('memberships')
      .selectAll()
      .where('user_id', '=', response.body.user.id)
      .execute();
    expect(membership).toEqual([
      expect.objectContaining({ org_id: response.body.organization.id, role: 'owner' }),
    ]);
    const stored = await server.deps.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', response.body.user.id)
      .executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('refuses a second account for the same email, whatever its case', async () => {
    await server.request('POST', '/api/v1/auth/signup', {
      body: { email: 'dup@example.com', password: PASSWORD },
    });
    const again = await server.request('POST', '/api/v1/auth/signup', {
      body: { email: 'DUP@example.com', password: PASSWORD },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('email_taken');
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each([
    ['short-pass', 'at least 12'],
    ['password1234', 'too common'],
    ['aaaaaaaaaaaaaaaa', 'repeated'],
    ['x'.repeat(257), 'at most 256'],
  ])('refuses the weak password %#', async (password, message) => {
    const response = await server.request('POST', '/api/v1/auth/signup', {
      body: { email: 'weak@example.com', password },
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('weak_password');
    expect(response.body.detail).toContain(message);
    expect(response.body.errors[0].path).toBe('body.password');
  });

  it('accepts a 256-character password and uses all of it', async () => {
    const long = `${'Ab1-'.repeat(63)}wxyz`;
    expect(long).toHaveLength(256);
    const email = 'long@example.com';
    expect(
      (await server.request('POST', '/api/v1/auth/signup', { body: { email, password: long } })).status,
    ).toBe(201);
    const truncated = await server.request('POST', '/api/v1/auth/login', {
      body: { email, password: long.slice(0, 255) },
    });
    expect(truncated.status).toBe(401);
    expect(
      (await server.request('POST', '/api/v1/auth/login', { body: { email, password: long } })).status,
    ).toBe(200);
  });

  it('lists every bad field of a malformed body', async () => {
    const response = await server.request('POST', '/api/v1/auth/signup', {
      body: { email: 'nope', extra: 1 },
    });
    expect(response.status).toBe(400);
    const paths = response.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['body.email', 'body.extra', 'body.password']);
  });
});

describe('login', () => {
  it('returns the seed token shape with an ES256 JWT verifiable by the JWKS', async () => {
    const user = await newUser(server);
    const response = await server.request('POST', '/api/v1/auth/login', {
      body: { email: user.email, password: PASSWORD },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(response.body.refresh_token).toMatch(/^opr_[0-9A-Za-z]{43}$/);
    const header = decodeProtectedHeader(response.body.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(header.kid).toBeTruthy();
    const jwks = await server.request('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
    const { payload } = await jwtVerify(response.body.access_token, createLocalJWKSet(jwks.body));
    expect(payload).toMatchObject({
      sub: user.userId,
      org_id: user.orgId,
      owner: user.orgId,
      role: 'owner',
      client_id: 'orgplane',
    });
  });

  it('answers unknown email and wrong password with the same 401', async () => {
    const user = await newUser(server);
    const wrong = await server.request('POST', '/api/v1/auth/login', {
      body: { email: user.email, password: 'not-the-password!!' },
    });
    const unknown = await server.request('POST', '/api/v1/auth/login', {
      body: { email: 'ghost@example.com', password: PASSWORD },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    expect(strip(wrong.body)).toEqual(strip(unknown.body));
  });

  it('starts the session in a requested org only if the user is a member', async () => {
    const user = await newUser(server);
    const other = await newUser(server);
    const ok = await server.request('POST', '/api/v1/auth/login', {
      body: { email: user.email, password: PASSWORD, org_id: user.orgId },
    });
    expect(ok.status).toBe(200);
    const foreign = await server.request('POST', '/api/v1/auth/login', {
      body: { email: user.email, password: PASSWORD, org_id: other.orgId },
    });
    expect(foreign.status).toBe(404);
  });

  it('writes login and failed-login events to the org audit log', async () => {
    const user = await newUser(server);
    await server.request('POST', '/api/v1/auth/login', {
      body: { email: user.email, password: 'wrong-password-123' },
    });
    // The failure is audited after the 401 is sent (so it cannot be timed): wait for it.
    await vi.waitFor(async () => {
      const log = await server.request('GET', `/api/v1/orgs/${user.orgId}/audit-logs?action=auth.*`, {
        token: user.token,
      });
      const actions = log.body.data.map((e: { action: string }) => e.action);
      expect(actions).toContain('auth.login');
      expect(actions).toContain('auth.login_failed');
    });
  });
});

describe('refresh rotation', () => {
  it('rotates: the new token works, the old one stops working', async () => {
    const user = await newUser(server);
    const first = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).not.toBe(user.refreshToken);
    const second = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: first.body.refresh_token },
    });
    expect(second.status).toBe(200);
  });

  it('revokes the whole family when a rotated token is presented again', async () => {
    const user = await newUser(server);
    const rotated = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    const replay = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(replay.status).toBe(401);
    const descendant = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: rotated.body.refresh_token },
    });
    expect(descendant.status).toBe(401);
    // Access tokens of the revoked session stop too.
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: rotated.body.access_token });
    expect(whoami.status).toBe(401);
  });

  it('lets exactly one of eight concurrent refreshes of one token succeed', async () => {
    const user = await newUser(server);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        server.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: user.refreshToken } }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 401, 401, 401, 401, 401, 401, 401]);
  });

  it('rejects unknown and garbage refresh tokens with 401', async () => {
    for (const token of ['opr_unknown', 'x', 'eyJ.fake.jwt']) {
      const response = await server.request('POST', '/api/v1/auth/refresh', {
        body: { refresh_token: token },
      });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('invalid_refresh_token');
    }
  });
});

describe('logout, whoami, switch-org', () => {
  it('logout revokes the session: refresh and the access token stop working', async () => {
    const user = await newUser(server);
    expect(
      (await server.request('POST', '/api/v1/auth/logout', { body: { refresh_token: user.refreshToken } }))
        .status,
    ).toBe(204);
    expect(
      (await server.request('POST', '/api/v1/auth/refresh', { body: { refresh_token: user.refreshToken } }))
        .status,
    ).toBe(401);
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: user.token })).status).toBe(401);
  });

  it('logout ends the whole sign-in, including sessions started by switch-org from it', async () => {
    const user = await newUser(server);
    const org = await server.request('POST', '/api/v1/orgs', {
      token: user.token,
      body: { name: 'Tree Org' },
    });
    const switched = await server.request('POST', '/api/v1/auth/switch-org', {
      token: user.token,
      body: { org_id: org.body.id },
    });
    expect(switched.status).toBe(200);
    // Logging out with the switched session's token ends the original sign-in too, and vice versa.
    await server.request('POST', '/api/v1/auth/logout', {
      body: { refresh_token: switched.body.refresh_token },
    });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: user.token })).status).toBe(401);
    expect(
      (await server.request('GET', '/api/v1/auth/whoami', { token: switched.body.access_token })).status,
    ).toBe(401);
    const again = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(again.status).toBe(401);
  });

  it('a sign-in has an absolute end that refreshing cannot extend', async () => {
    const user = await newUser(server);
    const refreshed = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: user.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    const sid = decodeJwt(refreshed.body.access_token).sid as string;
    const family = await server.deps.db
      .selectFrom('refresh_token_families')
      .selectAll()
      .where('id', '=', sid)
      .executeTakeFirstOrThrow();
    const maxAge = family.expires_at.getTime() - family.created_at.getTime();
    expect(Math.round(maxAge / 86_400_000)).toBe(90);
    const tokens = await server.deps.db
      .selectFrom('refresh_tokens')
      .select('expires_at')
      .where('family_id', '=', sid)
      .execute();
    for (const token of tokens)
      expect(token.expires_at.getTime()).toBeLessThanOrEqual(family.expires_at.getTime());
    // Once the sign-in's end has passed, neither its refresh token nor its access token works.
    await server.deps.db
      .updateTable('refresh_token_families')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', sid)
      .execute();
    expect(
      (
        await server.request('POST', '/api/v1/auth/refresh', {
          body: { refresh_token: refreshed.body.refresh_token },
        })
      ).status,
    ).toBe(401);
    expect(
      (await server.request('GET', '/api/v1/auth/whoami', { token: refreshed.body.access_token })).status,
    ).toBe(401);
  });

  // A second connection must hold the sign-in's lock while the request waits: PostgreSQL only
  // (embedded PGlite runs one transaction at a time, so the race cannot happen there).
  it.runIf(onPostgres)('a switch-org racing a logout cannot leave a live session behind', async () => {
    const user = await newUser(server);
    const org = await server.request('POST', '/api/v1/orgs', {
      token: user.token,
      body: { name: 'Race Org' },
    });
    const sid = decodeJwt(user.token).sid as string;
    let pending: ReturnType<typeof server.request> | undefined;
    await server.deps.db.transaction().execute(async (trx) => {
      // What logout does: lock the sign-in's root, then revoke its tree.
      await trx.selectFrom('refresh_token_families').select('id').where('id', '=', sid).forUpdate().execute();
      pending = server.request('POST', '/api/v1/auth/switch-org', {
        token: user.token,
        body: { org_id: org.body.id },
      });
      await new Promise((r) => setTimeout(r, 300));
      await trx
        .updateTable('refresh_token_families')
        .set({ revoked_at: new Date() })
        .where('root_id', '=', sid)
        .execute();
    });
    const switched = await pending!;
    expect(switched.status).toBe(401);
    const live = await server.deps.db
      .selectFrom('refresh_token_families')
      .select('id')
      .where('user_id', '=', user.userId)
      .where('revoked_at', 'is', null)
      .execute();
    expect(live).toHaveLength(0);
  });

  it.runIf(onPostgres)('session starts and member changes running together never deadlock', async () => {
    const owner = await newUser(server);
    for (let round = 0; round < 5; round++) {
      const member = await newUser(server);
      await addMember(server, owner.orgId, member.userId, 'member');
      const base = `/api/v1/orgs/${owner.orgId}/members/${member.userId}`;
      const [switched, changed] = await Promise.all([
        server.request('POST', '/api/v1/auth/switch-org', {
          token: member.token,
          body: { org_id: owner.orgId },
        }),
        server.request('PATCH', base, { token: owner.token, body: { role: 'viewer' } }),
      ]);
      expect(switched.status, switched.text).toBe(200);
      expect(changed.status, changed.text).toBe(200);
    }
  });

  it('whoami answers in the seed shape', async () => {
    const user = await newUser(server, 'who');
    const response = await server.request('GET', '/api/v1/auth/whoami', { token: user.token });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      user_id: user.userId,
      email: user.email,
      organization: { id: user.orgId, name: "who's organization" },
      role: 'owner',
      credential: { type: 'access_token' },
    });
    expect(response.body.scopes).toContain('admin:org');
  });

  it('switch-org issues tokens for another org the user belongs to, and 404 for others', async () => {
    const user = await newUser(server);
    const created = await server.request('POST', '/api/v1/orgs', {
      token: user.token,
      body: { name: 'Second Org' },
    });
    expect(created.status).toBe(201);
    const switched = await server.request('POST', '/api/v1/auth/switch-org', {
      token: user.token,
      body: { org_id: created.body.id },
    });
    expect(switched.status).toBe(200);
    expect(decodeJwt(switched.body.access_token)).toMatchObject({
      org_id: created.body.id,
      owner: created.body.id,
    });
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: switched.body.access_token });
    expect(whoami.body.organization.id).toBe(created.body.id);
    const stranger = await newUser(server);
    const denied = await server.request('POST', '/api/v1/auth/switch-org', {
      token: user.token,
      body: { org_id: stranger.orgId },
    });
    expect(denied.status).toBe(404);
  });

  it('treats an upper-case org id like the same id in lower case', async () => {
    const user = await newUser(server);
    const switched = await server.request('POST', '/api/v1/auth/switch-org', {
      token: user.token,
      body: { org_id: user.orgId.toUpperCase() },
    });
    expect(switched.status).toBe(200);
    expect(decodeJwt(switched.body.access_token).org_id).toBe(user.orgId);
    const token = switched.body.access_token;
    expect((await server.request('GET', `/api/v1/orgs/${user.orgId}`, { token })).status).toBe(200);
    expect((await server.request('GET', `/api/v1/orgs/${user.orgId.toUpperCase()}`, { token })).status).toBe(
      200,
    );
  });

  it('rejects missing, malformed and tampered credentials with 401', async () => {
    const user = await newUser(server);
    expect((await server.request('GET', '/api/v1/auth/whoami')).status).toBe(401);
    expect(
      (await server.request('GET', '/api/v1/auth/whoami', { headers: { authorization: 'Basic abc' } }))
        .status,
    ).toBe(401);
    const [h, p, s] = user.token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(user.token), role: 'owner', sub: 'x' })).toString('base64url')}.${s}`;
    expect(p).toBeTruthy();
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tampered })).status).toBe(401);
  });
});
