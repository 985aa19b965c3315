import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { addMember, newUser, type TestUser, tokenFor, useTestServer } from '../../../../../test/harness.ts';
import { sha256Hex } from '../../platform/crypto.ts';

const server = useTestServer();

async function workspaceOf(user: TestUser, name = 'Services') {
  const ws = await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces`, {
    token: user.token,
    body: { name },
  });
  expect(ws.status).toBe(201);
  return ws.body.id as string;
}

/** A user with a workspace and one hosted service in it. */
async function serviceFixture() {
  const user = await newUser(server);
  const workspaceId = await workspaceOf(user);
  const services = `/api/v1/orgs/${user.orgId}/workspaces/${workspaceId}/hosted-services`;
  const created = await server.request('POST', services, { token: user.token, body: { name: 'Billing' } });
  expect(created.status).toBe(201);
  const serviceId = created.body.id as string;
  const service = `${services}/${serviceId}`;
  return { user, workspaceId, services, serviceId, service, tokens: `${service}/service-tokens` };
}

async function mint(token: string, service: string, body: unknown = { claims: { sub: 'service-caller' } }) {
  return server.request('POST', `${service}/service-tokens/mint`, { token, body });
}

async function introspect(callerToken: string, token: string) {
  const response = await server.request('POST', '/api/v1/auth/introspect', {
    token: callerToken,
    body: { token },
  });
  expect(response.status).toBe(200);
  return response.body;
}

describe('hosted services', () => {
  it('create, get, list, update, delete — with audit entries', async () => {
    const user = await newUser(server);
    const workspaceId = await workspaceOf(user);
    const base = `/api/v1/orgs/${user.orgId}/workspaces/${workspaceId}/hosted-services`;
    const created = await server.request('POST', base, {
      token: user.token,
      body: { name: '  Billing API ', description: 'Invoices', url: 'https://billing.example.com/v1' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      org_id: user.orgId,
      workspace_id: workspaceId,
      name: 'Billing API',
      description: 'Invoices',
      url: 'https://billing.example.com/v1',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const id = created.body.id;
    const got = await server.request('GET', `${base}/${id}`, { token: user.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const patched = await server.request('PATCH', `${base}/${id}`, {
      token: user.token,
      body: { description: null, url: 'http://billing.internal:8080' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'Billing API',
      description: null,
      url: 'http://billing.internal:8080',
    });
    const renamed = await server.request('PATCH', `${base}/${id}`, {
      token: user.token,
      body: { name: 'Billing API', url: null },
    });
    expect(renamed.status, 'renaming to its own name is no conflict').toBe(200);
    expect(renamed.body.url).toBeNull();

    expect((await server.request('DELETE', `${base}/${id}`, { token: user.token })).status).toBe(204);
    expect((await server.request('GET', `${base}/${id}`, { token: user.token })).status).toBe(404);
    expect((await server.request('DELETE', `${base}/${id}`, { token: user.token })).status).toBe(404);
    expect(
      (await server.request('PATCH', `${base}/${id}`, { token: user.token, body: { name: 'x' } })).status,
    ).toBe(404);

    const log = await server.request('GET', `/api/v1/orgs/${user.orgId}/audit-logs?target_id=${id}`, {
      token: user.token,
    });
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
      'hosted_service.deleted',
      'hosted_service.updated',
      'hosted_service.updated',
      'hosted_service.created',
    ]);
    expect(log.body.data[0]).toMatchObject({ actor: { id: user.userId, email: user.email } });
  });

  it('names are unique per workspace (409), not across workspaces', async () => {
    const user = await newUser(server);
    const first = await workspaceOf(user, 'First');
    const second = await workspaceOf(user, 'Second');
    const base = (ws: string) => `/api/v1/orgs/${user.orgId}/workspaces/${ws}/hosted-services`;
    expect(
      (await server.request('POST', base(first), { token: user.token, body: { name: 'Auth' } })).status,
    ).toBe(201);
    const duplicate = await server.request('POST', base(first), {
      token: user.token,
      body: { name: ' Auth ' },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('name_taken');
    expect(
      (await server.request('POST', base(second), { token: user.token, body: { name: 'Auth' } })).status,
    ).toBe(201);
    const other = await server.request('POST', base(first), { token: user.token, body: { name: 'Other' } });
    const rename = await server.request('PATCH', `${base(first)}/${other.body.id}`, {
      token: user.token,
      body: { name: 'Auth' },
    });
    expect(rename.status).toBe(409);
    expect(rename.body.code).toBe('name_taken');
  });

  it('paginates with a cursor and never repeats or skips', async () => {
    const user = await newUser(server);
    const workspaceId = await workspaceOf(user);
    const base = `/api/v1/orgs/${user.orgId}/workspaces/${workspaceId}/hosted-services`;
    for (let i = 0; i < 7; i++) {
      await server.request('POST', base, { token: user.token, body: { name: `svc ${i}` } });
    }
    // Another workspace's services never show up here.
    const elsewhere = await workspaceOf(user, 'Elsewhere');
    await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces/${elsewhere}/hosted-services`, {
      token: user.token,
      body: { name: 'not listed' },
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = cursor ? `${base}?limit=3&cursor=${cursor}` : `${base}?limit=3`;
      const page = await server.request('GET', url, { token: user.token });
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((s: { name: string }) => s.name));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['svc 0', 'svc 1', 'svc 2', 'svc 3', 'svc 4', 'svc 5', 'svc 6']);
    expect((await server.request('GET', `${base}?cursor=garbage`, { token: user.token })).status).toBe(400);
  });

  it('validates names, descriptions and urls', async () => {
    const user = await newUser(server);
    const workspaceId = await workspaceOf(user);
    const base = `/api/v1/orgs/${user.orgId}/workspaces/${workspaceId}/hosted-services`;
    for (const body of [
      {},
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(201) },
      { name: 3 },
      { name: 'ok', extra: true },
      { name: 'ok', description: 'x'.repeat(2001) },
      { name: 'ok', url: 'ftp://files.example.com' },
      { name: 'ok', url: 'javascript:alert(1)' },
      { name: 'ok', url: 'not a url' },
      { name: 'ok', url: 'https://' },
      { name: 'ok', url: 'https://exa mple.com' },
      { name: 'ok', url: '' },
    ]) {
      const response = await server.request('POST', base, { token: user.token, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    // URLs the format admits but a URL parser refuses, or without a host.
    for (const url of ['http://:80', 'http://@', 'http://1.2.3.999']) {
      const response = await server.request('POST', base, { token: user.token, body: { name: 'ok', url } });
      expect(response.status, url).toBe(400);
      expect(response.body.code).toBe('invalid_url');
    }
    const created = await server.request('POST', base, { token: user.token, body: { name: 'ok' } });
    expect(created.body).toMatchObject({ description: null, url: null });
    const badPatch = await server.request('PATCH', `${base}/${created.body.id}`, {
      token: user.token,
      body: { url: 'http://:80' },
    });
    expect(badPatch.body.code).toBe('invalid_url');
    const empty = await server.request('PATCH', `${base}/${created.body.id}`, {
      token: user.token,
      body: {},
    });
    expect(empty.status).toBe(400);
  });

  it('viewers read, members mint but cannot manage services, admins manage', async () => {
    const { user: owner, services, service, tokens } = await serviceFixture();
    const roles = {
      viewer: await newUser(server),
      member: await newUser(server),
      admin: await newUser(server),
    };
    const token: Record<string, string> = {};
    for (const [role, user] of Object.entries(roles)) {
      await addMember(server, owner.orgId, user.userId, role as 'viewer' | 'member' | 'admin');
      token[role] = await tokenFor(server, user, owner.orgId);
    }
    // viewer: reads only
    expect((await server.request('GET', services, { token: token.viewer })).status).toBe(200);
    expect((await server.request('GET', service, { token: token.viewer })).status).toBe(200);
    expect((await server.request('GET', tokens, { token: token.viewer })).status).toBe(200);
    const viewerMint = await mint(token.viewer!, service);
    expect(viewerMint.status).toBe(403);
    expect(viewerMint.body.code).toBe('permission_denied');
    // member: mints and revokes, but cannot create, change or delete services
    const minted = await mint(token.member!, service);
    expect(minted.status).toBe(201);
    expect(
      (await server.request('POST', services, { token: token.member, body: { name: 'Nope' } })).status,
    ).toBe(403);
    expect(
      (await server.request('PATCH', service, { token: token.member, body: { name: 'Nope' } })).status,
    ).toBe(403);
    expect((await server.request('DELETE', service, { token: token.member })).status).toBe(403);
    expect(
      (await server.request('DELETE', `${tokens}/${minted.body.id}`, { token: token.viewer })).status,
    ).toBe(403);
    expect(
      (await server.request('DELETE', `${tokens}/${minted.body.id}`, { token: token.member })).status,
    ).toBe(204);
    // admin: manages services
    const created = await server.request('POST', services, {
      token: token.admin,
      body: { name: 'Admin svc' },
    });
    expect(created.status).toBe(201);
    expect(
      (
        await server.request('PATCH', `${services}/${created.body.id}`, {
          token: token.admin,
          body: { url: null },
        })
      ).status,
    ).toBe(200);
    expect(
      (await server.request('DELETE', `${services}/${created.body.id}`, { token: token.admin })).status,
    ).toBe(204);
    // the creator of a token is the caller
    const list = await server.request('GET', `${tokens}?include_revoked=true`, { token: owner.token });
    expect(list.body.data[0].created_by).toEqual({ user_id: roles.member.userId });
  });

  it('answers 404 for a missing workspace, another workspace and another org', async () => {
    const a = await serviceFixture();
    const otherWorkspace = await workspaceOf(a.user, 'B');
    const underB = `/api/v1/orgs/${a.user.orgId}/workspaces/${otherWorkspace}/hosted-services/${a.serviceId}`;
    const minted = await mint(a.user.token, a.service);
    for (const [method, url, body] of [
      ['GET', underB, undefined],
      ['PATCH', underB, { name: 'moved' }],
      ['DELETE', underB, undefined],
      ['GET', `${underB}/service-tokens`, undefined],
      ['POST', `${underB}/service-tokens/mint`, { ttl_minutes: 5 }],
      ['DELETE', `${underB}/service-tokens/${minted.body.id}`, undefined],
    ] as const) {
      const response = await server.request(method, url, { token: a.user.token, body });
      expect(response.status, `${method} ${url}`).toBe(404);
      expect(response.body.code).toBe('not_found');
    }
    const missingWs = `/api/v1/orgs/${a.user.orgId}/workspaces/0190a6f0-0000-7000-8000-000000000000/hosted-services`;
    expect((await server.request('GET', missingWs, { token: a.user.token })).status).toBe(404);
    expect(
      (await server.request('POST', missingWs, { token: a.user.token, body: { name: 'x' } })).status,
    ).toBe(404);
    // A token id of another service of the same workspace is not found under this one.
    const sibling = await server.request('POST', a.services, {
      token: a.user.token,
      body: { name: 'Sibling' },
    });
    expect(
      (
        await server.request('DELETE', `${a.services}/${sibling.body.id}/service-tokens/${minted.body.id}`, {
          token: a.user.token,
        })
      ).status,
    ).toBe(404);

    // Another org: its own org id with our ids, and our org id with its token.
    const b = await serviceFixture();
    const foreign = `/api/v1/orgs/${b.user.orgId}/workspaces/${a.workspaceId}/hosted-services/${a.serviceId}`;
    expect((await server.request('GET', foreign, { token: b.user.token })).status).toBe(404);
    expect((await mint(b.user.token, foreign)).status).toBe(404);
    const mixed = `/api/v1/orgs/${b.user.orgId}/workspaces/${b.workspaceId}/hosted-services/${a.serviceId}`;
    expect((await server.request('GET', mixed, { token: b.user.token })).status).toBe(404);
    expect((await mint(b.user.token, mixed)).status).toBe(404);
    expect(
      (await server.request('DELETE', `${b.tokens}/${minted.body.id}`, { token: b.user.token })).status,
    ).toBe(404);
    expect((await server.request('GET', a.service, { token: b.user.token })).status).toBe(404);
    expect((await server.request('DELETE', a.service, { token: b.user.token })).status).toBe(404);
    // Nothing of A changed.
    expect((await server.request('GET', a.service, { token: a.user.token })).body.name).toBe('Billing');
    expect((await introspect(a.user.token, minted.body.token)).active).toBe(true);
  });
});

describe('service tokens', () => {
  it('mints fl_hsl_ tokens stored only as a hash, with claims and created_by', async () => {
    const { user, service, serviceId, tokens } = await serviceFixture();
    const before = Date.now();
    const minted = await mint(user.token, service, {
      claims: { sub: 'service-caller', tenant: 'acme' },
      ttl_minutes: 30,
    });
    expect(minted.status).toBe(201);
    expect(minted.body).toEqual({
      token: expect.stringMatching(/^fl_hsl_[0-9A-Za-z]{49}$/),
      id: expect.any(String),
      service_id: serviceId,
      expires_at: expect.any(String),
    });
    const expiresAt = Date.parse(minted.body.expires_at);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * 60_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 30 * 60_000 + 1000);

    const row = await server.deps.db
      .selectFrom('service_tokens')
      .selectAll()
      .where('id', '=', minted.body.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).not.toBe(minted.body.token);
    expect(row.token_hash).toBe(sha256Hex(minted.body.token));
    expect(row.claims).toEqual({ sub: 'service-caller', tenant: 'acme' });
    expect(row.created_by_user_id).toBe(user.userId);
    expect(row.org_id).toBe(user.orgId);

    const list = await server.request('GET', tokens, { token: user.token });
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      {
        id: minted.body.id,
        service_id: serviceId,
        claims: { sub: 'service-caller', tenant: 'acme' },
        expires_at: minted.body.expires_at,
        revoked_at: null,
        created_by: { user_id: user.userId },
        created_at: expect.any(String),
      },
    ]);
    expect(list.text).not.toContain(minted.body.token);
    expect(list.text).not.toContain(row.token_hash);

    // The default TTL is 60 minutes; the seed's exact request works.
    const seeded = await mint(user.token, service, { claims: { sub: 'service-caller' }, ttl_minutes: 60 });
    expect(seeded.status).toBe(201);
    const defaults = await mint(user.token, service, {});
    expect(defaults.status).toBe(201);
    expect(Date.parse(defaults.body.expires_at) - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(Date.parse(defaults.body.expires_at) - Date.now()).toBeLessThanOrEqual(60 * 60_000);

    const log = await server.request(
      'GET',
      `/api/v1/orgs/${user.orgId}/audit-logs?target_id=${minted.body.id}`,
      { token: user.token },
    );
    expect(log.body.data).toHaveLength(1);
    expect(log.body.data[0]).toMatchObject({
      action: 'service_token.minted',
      metadata: { service_id: serviceId, claim_keys: ['sub', 'tenant'], ttl_minutes: 30 },
    });
    expect(log.text).not.toContain(minted.body.token);
    expect(log.text).not.toContain('acme');
    expect(log.text).not.toContain('service-caller');
  });

  it('paginates a service’s tokens', async () => {
    const { user, service, tokens } = await serviceFixture();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await mint(user.token, service, { ttl_minutes: 5 })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = cursor ? `${tokens}?limit=2&cursor=${cursor}` : `${tokens}?limit=2`;
      const page = await server.request('GET', url, { token: user.token });
      seen.push(...page.body.data.map((t: { id: string }) => t.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('introspection describes a live token to its org only', async () => {
    const { user, service, serviceId, workspaceId } = await serviceFixture();
    const minted = await mint(user.token, service, {
      claims: { sub: 'service-caller', tenant: 'acme', roles: ['reader'], nested: { a: 1 } },
      ttl_minutes: 15,
    });
    const now = Math.floor(Date.now() / 1000);
    const described = await introspect(user.token, minted.body.token);
    expect(described).toMatchObject({
      active: true,
      token_type: 'service_token',
      service_id: serviceId,
      client_id: serviceId,
      sub: 'service-caller',
      tenant: 'acme',
      roles: ['reader'],
      nested: { a: 1 },
      org_id: user.orgId,
      workspace_id: workspaceId,
    });
    expect(Math.abs(described.exp - (now + 15 * 60))).toBeLessThanOrEqual(2);
    expect(Math.abs(described.iat - now)).toBeLessThanOrEqual(2);

    // Without a custom sub, sub is the service.
    const plain = await mint(user.token, service, { ttl_minutes: 5 });
    expect(await introspect(user.token, plain.body.token)).toMatchObject({ active: true, sub: serviceId });

    // A member of the org (another user) may introspect it too.
    const member = await newUser(server);
    await addMember(server, user.orgId, member.userId, 'member');
    const memberToken = await tokenFor(server, member, user.orgId);
    expect((await introspect(memberToken, minted.body.token)).active).toBe(true);

    // Another org's caller learns nothing.
    const outsider = await newUser(server);
    expect(await introspect(outsider.token, minted.body.token)).toEqual({ active: false });
    // A tampered token is inactive too.
    const tampered = `${minted.body.token.slice(0, -1)}${minted.body.token.endsWith('A') ? 'B' : 'A'}`;
    expect(await introspect(user.token, tampered)).toEqual({ active: false });
  });

  it('a revoked token is inactive at once; revoking is idempotent and audited once', async () => {
    const { user, service, tokens } = await serviceFixture();
    const minted = await mint(user.token, service);
    expect((await introspect(user.token, minted.body.token)).active).toBe(true); // now cached
    expect(
      (await server.request('DELETE', `${tokens}/${minted.body.id}`, { token: user.token })).status,
    ).toBe(204);
    expect(await introspect(user.token, minted.body.token)).toEqual({ active: false });
    expect(
      (await server.request('DELETE', `${tokens}/${minted.body.id}`, { token: user.token })).status,
    ).toBe(204);
    const unknown = await server.request('DELETE', `${tokens}/0190a6f0-0000-7000-8000-000000000000`, {
      token: user.token,
    });
    expect(unknown.status).toBe(404);

    expect((await server.request('GET', tokens, { token: user.token })).body.data).toEqual([]);
    const all = await server.request('GET', `${tokens}?include_revoked=true`, { token: user.token });
    expect(all.body.data).toHaveLength(1);
    expect(all.body.data[0].revoked_at).toEqual(expect.any(String));

    const log = await server.request(
      'GET',
      `/api/v1/orgs/${user.orgId}/audit-logs?target_id=${minted.body.id}`,
      { token: user.token },
    );
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
      'service_token.revoked',
      'service_token.minted',
    ]);
  });

  it('deleting the service ends its tokens at once', async () => {
    const { user, service } = await serviceFixture();
    const first = await mint(user.token, service);
    const second = await mint(user.token, service);
    expect((await introspect(user.token, first.body.token)).active).toBe(true);
    expect((await introspect(user.token, second.body.token)).active).toBe(true);
    expect((await server.request('DELETE', service, { token: user.token })).status).toBe(204);
    expect(await introspect(user.token, first.body.token)).toEqual({ active: false });
    expect(await introspect(user.token, second.body.token)).toEqual({ active: false });
    const left = await server.deps.db
      .selectFrom('service_tokens')
      .select('id')
      .where('id', 'in', [first.body.id, second.body.id])
      .execute();
    expect(left).toEqual([]);
  });

  it('an expired token is inactive', async () => {
    const { user, service } = await serviceFixture();
    const minted = await mint(user.token, service, { ttl_minutes: 1 });
    expect((await introspect(user.token, minted.body.token)).active).toBe(true);
    await sql`UPDATE service_tokens SET expires_at = now() - interval '1 second' WHERE id = ${minted.body.id}`.execute(
      server.deps.db,
    );
    server.deps.caches.forget([`key:${minted.body.id}`]);
    expect(await introspect(user.token, minted.body.token)).toEqual({ active: false });
  });

  it('refuses reserved claims, oversized or too-deep claims and out-of-range TTLs', async () => {
    const { user, service } = await serviceFixture();
    const reserved = await mint(user.token, service, { claims: { sub: 'ok', exp: 1, org_id: 'x' } });
    expect(reserved.status).toBe(400);
    expect(reserved.body.code).toBe('reserved_claim');
    expect(reserved.body.detail).toContain('exp, org_id');
    expect(reserved.body.errors).toEqual([
      { path: 'body.claims.exp', message: 'is a reserved claim name' },
      { path: 'body.claims.org_id', message: 'is a reserved claim name' },
    ]);
    for (const name of ['active', 'token_type', 'scope', 'client_id', 'service_id', 'api_key_id', 'aud']) {
      const response = await mint(user.token, service, { claims: { [name]: 'x' } });
      expect(response.status, name).toBe(400);
      expect(response.body.code).toBe('reserved_claim');
    }
    const big = await mint(user.token, service, { claims: { blob: 'x'.repeat(4100) } });
    expect(big.status).toBe(400);
    expect(big.body.code).toBe('claims_too_large');
    expect(big.body.detail).toContain('4096');
    // Just under the limit is fine (4 096 bytes of JSON exactly).
    const exact = await mint(user.token, service, {
      claims: { blob: 'x'.repeat(4096 - '{"blob":""}'.length) },
    });
    expect(exact.status).toBe(201);

    let deep: unknown = 1;
    for (let i = 0; i < 33; i++) deep = { a: deep };
    const tooDeep = await mint(user.token, service, { claims: deep });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body.detail).toContain('levels deep');

    for (const body of [
      { ttl_minutes: 0 },
      { ttl_minutes: 1441 },
      { ttl_minutes: -5 },
      { ttl_minutes: 1.5 },
      { ttl_minutes: '60' },
      { claims: 'sub' },
      { claims: ['sub'] },
      { claims: null },
      { claims: { sub: 42 } },
      { claims: { sub: '' } },
      { claims: {}, extra: 1 },
      { claims: { k: 'a\u0000b' } },
      { claims: { 'k\u0000': 'v' } },
      { claims: { k: '\ud800x' } },
    ]) {
      const response = await mint(user.token, service, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect((await mint(user.token, service, { ttl_minutes: 1440 })).status).toBe(201);
    expect((await mint(user.token, service, { ttl_minutes: 1 })).status).toBe(201);
  });

  it('a service token is not a credential for the API', async () => {
    const { user, service, services } = await serviceFixture();
    const minted = await mint(user.token, service);
    for (const [method, url] of [
      ['GET', '/api/v1/auth/whoami'],
      ['GET', `/api/v1/orgs/${user.orgId}`],
      ['GET', services],
      ['GET', service],
      ['POST', '/api/v1/auth/introspect'],
    ] as const) {
      const response = await server.request(method, url, {
        token: minted.body.token,
        ...(method === 'POST' ? { body: { token: minted.body.token } } : {}),
      });
      expect(response.status, `${method} ${url}`).toBe(401);
      expect(response.body.code).toBe('invalid_credential');
    }
    const asApiKey = await server.request('GET', services, { headers: { 'x-api-key': minted.body.token } });
    expect(asApiKey.status).toBe(401);
  });
});
