import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  newUser,
  PASSWORD,
  startTestServer,
  type TestServer,
  tokenFor,
} from '../../../../../test/harness.ts';
import { createAccount } from '../auth/service.ts';

const PLATFORM_ADMIN = 'root-admin@platform.test';
let server: TestServer;
let adminToken: string;

beforeAll(async () => {
  server = await startTestServer({
    ORGPLANE_PLATFORM_ADMIN_EMAILS: ` ${PLATFORM_ADMIN.toUpperCase()} , other@x.test`,
  });
  // Platform-admin addresses cannot sign up over HTTP; the server CLI creates them (createAccount).
  const signup = await server.request('POST', '/api/v1/auth/signup', {
    body: { email: PLATFORM_ADMIN, password: PASSWORD },
  });
  expect(signup.status).toBe(403);
  expect(signup.body.code).toBe('email_reserved');
  const origin = { ip: 'server-cli', requestId: 'test', userAgent: null };
  await createAccount(
    server.deps,
    origin,
    { email: PLATFORM_ADMIN, password: PASSWORD },
    { createdOnServer: true },
  );
  const login = await server.request('POST', '/api/v1/auth/login', {
    body: { email: PLATFORM_ADMIN, password: PASSWORD },
  });
  adminToken = login.body.access_token;
});
afterAll(async () => {
  await server?.close();
});

describe('creating and listing orgs', () => {
  it('creates an org with every seed field; the caller is its owner', async () => {
    const user = await newUser(server);
    const body = {
      name: 'Acme Corp',
      slug: `acme-${Date.now()}`,
      primary_domain: 'acme.com',
      industry: 'Software',
      contact_email: 'ops@acme.com',
      billing_email: 'billing@acme.com',
    };
    const created = await server.request('POST', '/api/v1/orgs', { token: user.token, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...body, status: 'active', role: 'owner' });
    const token = await tokenFor(server, user, created.body.id);
    const fetched = await server.request('GET', `/api/v1/orgs/${created.body.id}`, { token });
    expect(fetched.body).toMatchObject({ ...body, support_tier: 'community' });
  });

  it('support_tier belongs to the platform: tenants cannot set it, platform admins can', async () => {
    const user = await newUser(server);
    const tier = await server.request('POST', '/api/v1/orgs', {
      token: user.token,
      body: { name: 'Greedy', support_tier: 'enterprise' },
    });
    expect(tier.status).toBe(403);
    expect(tier.body.code).toBe('platform_admin_required');
    const patch = await server.request('PATCH', `/api/v1/orgs/${user.orgId}`, {
      token: user.token,
      body: { support_tier: 'enterprise' },
    });
    expect(patch.status).toBe(403);
    const byAdmin = await server.request('PATCH', `/api/v1/orgs/${user.orgId}`, {
      token: adminToken,
      body: { support_tier: 'enterprise' },
    });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.support_tier).toBe('enterprise');
  });

  it('stores domains in lower case', async () => {
    const user = await newUser(server);
    const response = await server.request('PATCH', `/api/v1/orgs/${user.orgId}`, {
      token: user.token,
      body: { primary_domain: 'Acme.COM' },
    });
    expect(response.status).toBe(200);
    expect(response.body.primary_domain).toBe('acme.com');
  });

  it('keeps slugs unique across the platform: 409 for a requested one, a suffix for a derived one', async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    const slug = `taken-${Date.now()}`;
    expect(
      (await server.request('POST', '/api/v1/orgs', { token: a.token, body: { name: 'A', slug } })).status,
    ).toBe(201);
    const clash = await server.request('POST', '/api/v1/orgs', { token: b.token, body: { name: 'B', slug } });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('slug_taken');
    const first = await server.request('POST', '/api/v1/orgs', {
      token: a.token,
      body: { name: 'Same Name Inc' },
    });
    const second = await server.request('POST', '/api/v1/orgs', {
      token: b.token,
      body: { name: 'Same Name Inc' },
    });
    expect(first.body.slug).toBe('same-name-inc');
    expect(second.body.slug).toMatch(/^same-name-inc-[0-9a-f]{6}$/);
  });

  it('refuses invalid fields with one error per field', async () => {
    const user = await newUser(server);
    const response = await server.request('POST', '/api/v1/orgs', {
      token: user.token,
      body: { name: '', slug: 'Bad Slug', support_tier: 'gold', contact_email: 'no' },
    });
    expect(response.status).toBe(400);
    const paths = response.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(['body.name', 'body.slug', 'body.support_tier', 'body.contact_email']),
    );
  });

  it("lists the caller's orgs with their role, page by page", async () => {
    const user = await newUser(server);
    for (const name of ['One', 'Two', 'Three']) {
      await server.request('POST', '/api/v1/orgs', { token: user.token, body: { name } });
    }
    const page1 = await server.request('GET', '/api/v1/orgs?limit=2', { token: user.token });
    expect(page1.status).toBe(200);
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const page2 = await server.request('GET', `/api/v1/orgs?limit=2&cursor=${page1.body.next_cursor}`, {
      token: user.token,
    });
    expect(page2.body.data).toHaveLength(2);
    expect(page2.body.next_cursor).toBeNull();
    const ids = [...page1.body.data, ...page2.body.data].map((o: { id: string }) => o.id);
    expect(new Set(ids).size).toBe(4);
    expect(page1.body.data.every((o: { role: string }) => o.role === 'owner')).toBe(true);
    const bad = await server.request('GET', '/api/v1/orgs?cursor=garbage', { token: user.token });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_cursor');
    expect((await server.request('GET', '/api/v1/orgs?limit=101', { token: user.token })).status).toBe(400);
  });
});

describe('updating and deleting', () => {
  it('lets admins update fields, refuses members, and records the change', async () => {
    const owner = await newUser(server);
    const admin = await newUser(server);
    const member = await newUser(server);
    await addMember(server, owner.orgId, admin.userId, 'admin');
    await addMember(server, owner.orgId, member.userId, 'member');
    const adminToken = await tokenFor(server, admin, owner.orgId);
    const patched = await server.request('PATCH', `/api/v1/orgs/${owner.orgId}`, {
      token: adminToken,
      body: { industry: 'Fintech', contact_email: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.industry).toBe('Fintech');
    // Billing stays with owners (seed 002).
    const billing = await server.request('PATCH', `/api/v1/orgs/${owner.orgId}`, {
      token: adminToken,
      body: { billing_email: 'x@evil.example' },
    });
    expect(billing.status).toBe(403);
    const byOwner = await server.request('PATCH', `/api/v1/orgs/${owner.orgId}`, {
      token: owner.token,
      body: { billing_email: 'billing@acme.com' },
    });
    expect(byOwner.status).toBe(200);
    const denied = await server.request('PATCH', `/api/v1/orgs/${owner.orgId}`, {
      token: await tokenFor(server, member, owner.orgId),
      body: { industry: 'X' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('permission_denied');
    const empty = await server.request('PATCH', `/api/v1/orgs/${owner.orgId}`, {
      token: adminToken,
      body: {},
    });
    expect(empty.status).toBe(400);
    const log = await server.request('GET', `/api/v1/orgs/${owner.orgId}/audit-logs?action=org.updated`, {
      token: owner.token,
    });
    const byAdmin = log.body.data.find((e: { actor: { id: string } }) => e.actor.id === admin.userId);
    expect(byAdmin).toMatchObject({
      action: 'org.updated',
      metadata: {
        changed: ['industry', 'contact_email'],
        changes: { industry: { from: null, to: 'Fintech' }, contact_email: { from: owner.email, to: null } },
      },
    });
  });

  it('deletes an org with everything in it (owners only)', async () => {
    const owner = await newUser(server);
    const admin = await newUser(server);
    await addMember(server, owner.orgId, admin.userId, 'admin');
    await server.request('POST', `/api/v1/orgs/${owner.orgId}/workspaces`, {
      token: owner.token,
      body: { name: 'W' },
    });
    const byAdmin = await server.request('DELETE', `/api/v1/orgs/${owner.orgId}`, {
      token: await tokenFor(server, admin, owner.orgId),
    });
    expect(byAdmin.status).toBe(403);
    expect(
      (await server.request('DELETE', `/api/v1/orgs/${owner.orgId}`, { token: owner.token })).status,
    ).toBe(204);
    expect((await server.request('GET', `/api/v1/orgs/${owner.orgId}`, { token: owner.token })).status).toBe(
      404,
    );
    for (const table of ['workspaces', 'memberships', 'audit_logs', 'org_data_keys'] as const) {
      const rows = await server.deps.db
        .selectFrom(table)
        .select('org_id')
        .where('org_id', '=', owner.orgId)
        .execute();
      expect(rows, table).toHaveLength(0);
    }
  });
});

describe('lifecycle: archive, suspend, restore', () => {
  async function orgWithMember() {
    const owner = await newUser(server);
    const member = await newUser(server);
    await addMember(server, owner.orgId, member.userId, 'member');
    return { owner, member, memberToken: await tokenFor(server, member, owner.orgId) };
  }

  it('archive stops every credential of the org at once; owners can still read and restore it', async () => {
    const { owner, memberToken } = await orgWithMember();
    const ws = `/api/v1/orgs/${owner.orgId}/workspaces`;
    expect((await server.request('GET', ws, { token: memberToken })).status).toBe(200);
    const archived = await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, {
      token: owner.token,
    });
    expect(archived.status).toBe(200);
    expect(archived.body.status).toBe('archived');

    const stopped = await server.request('GET', ws, { token: memberToken });
    expect(stopped.status).toBe(403);
    expect(stopped.body.code).toBe('org_archived');
    // Owners keep read access (GET) to everything, but cannot change anything until they restore.
    expect((await server.request('GET', ws, { token: owner.token })).status).toBe(200);
    const write = await server.request('POST', ws, { token: owner.token, body: { name: 'during archive' } });
    expect(write.status).toBe(403);
    expect(write.body.code).toBe('org_archived');
    expect((await server.request('GET', `/api/v1/orgs/${owner.orgId}`, { token: memberToken })).status).toBe(
      403,
    );
    expect((await server.request('GET', `/api/v1/orgs/${owner.orgId}`, { token: owner.token })).status).toBe(
      200,
    );
    expect(
      (await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, { token: owner.token })).status,
    ).toBe(403);

    const restored = await server.request('POST', `/api/v1/orgs/${owner.orgId}/restore`, {
      token: owner.token,
    });
    expect(restored.status).toBe(200);
    expect(restored.body.status).toBe('active');
    expect((await server.request('GET', ws, { token: memberToken })).status).toBe(200);
    const actions = (
      await server.request('GET', `/api/v1/orgs/${owner.orgId}/audit-logs?action=org.*`, {
        token: owner.token,
      })
    ).body.data.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['org.archived', 'org.restored']));
  });

  it('only owners archive; restoring an active org is a conflict', async () => {
    const owner = await newUser(server);
    const admin = await newUser(server);
    await addMember(server, owner.orgId, admin.userId, 'admin');
    const adminToken = await tokenFor(server, admin, owner.orgId);
    expect(
      (await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, { token: adminToken })).status,
    ).toBe(403);
    const restore = await server.request('POST', `/api/v1/orgs/${owner.orgId}/restore`, {
      token: owner.token,
    });
    expect(restore.status).toBe(409);
    expect(restore.body.code).toBe('invalid_status_transition');
  });

  it('suspend is for platform admins only; owners cannot lift it but can still read the org', async () => {
    const { owner, memberToken } = await orgWithMember();
    const bySelf = await server.request('POST', `/api/v1/orgs/${owner.orgId}/suspend`, {
      token: owner.token,
    });
    expect(bySelf.status).toBe(403);
    const suspended = await server.request('POST', `/api/v1/orgs/${owner.orgId}/suspend`, {
      token: adminToken,
    });
    expect(suspended.status).toBe(200);
    expect(suspended.body.status).toBe('suspended');

    const stopped = await server.request('GET', `/api/v1/orgs/${owner.orgId}/members`, {
      token: memberToken,
    });
    expect(stopped.status).toBe(403);
    expect(stopped.body.code).toBe('org_suspended');
    expect((await server.request('GET', `/api/v1/orgs/${owner.orgId}`, { token: owner.token })).status).toBe(
      200,
    );
    const ownerRestore = await server.request('POST', `/api/v1/orgs/${owner.orgId}/restore`, {
      token: owner.token,
    });
    expect(ownerRestore.status).toBe(403);
    expect(ownerRestore.body.code).toBe('org_suspended');
    expect(
      (await server.request('DELETE', `/api/v1/orgs/${owner.orgId}`, { token: owner.token })).status,
    ).toBe(403);

    const lifted = await server.request('POST', `/api/v1/orgs/${owner.orgId}/restore`, { token: adminToken });
    expect(lifted.status).toBe(200);
    expect(
      (await server.request('GET', `/api/v1/orgs/${owner.orgId}/members`, { token: memberToken })).status,
    ).toBe(200);
    const log = await server.request('GET', `/api/v1/orgs/${owner.orgId}/audit-logs?action=org.suspended`, {
      token: owner.token,
    });
    expect(log.body.data[0].actor.email).toBe(PLATFORM_ADMIN);
  });

  it('lifting the suspension of an archived org returns it to archived', async () => {
    const owner = await newUser(server);
    await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, { token: owner.token });
    expect(
      (await server.request('POST', `/api/v1/orgs/${owner.orgId}/suspend`, { token: adminToken })).body
        .status,
    ).toBe('suspended');
    const lifted = await server.request('POST', `/api/v1/orgs/${owner.orgId}/restore`, { token: adminToken });
    expect(lifted.body.status).toBe('archived');
    const restored = await server.request('POST', `/api/v1/orgs/${owner.orgId}/restore`, {
      token: owner.token,
    });
    expect(restored.body.status).toBe('active');
  });

  it('a listed address whose account was not created on the server is no platform admin', async () => {
    // As if a stranger had signed up with the address before the operator listed it.
    const origin = { ip: '203.0.113.1', requestId: 'early-signup', userAgent: null };
    await createAccount(server.deps, origin, { email: 'other@x.test', password: PASSWORD });
    const login = await server.request('POST', '/api/v1/auth/login', {
      body: { email: 'other@x.test', password: PASSWORD },
    });
    const victim = await newUser(server);
    const attempt = await server.request('POST', `/api/v1/orgs/${victim.orgId}/suspend`, {
      token: login.body.access_token,
    });
    expect(attempt.status).toBe(404);
  });

  it('platform admins get 404 on other routes of orgs they do not belong to', async () => {
    const owner = await newUser(server);
    expect(
      (await server.request('GET', `/api/v1/orgs/${owner.orgId}/workspaces`, { token: adminToken })).status,
    ).toBe(404);
    expect(
      (await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, { token: adminToken })).status,
    ).toBe(404);
  });
});
