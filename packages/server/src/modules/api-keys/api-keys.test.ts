import { describe, expect, it } from 'vitest';
import { addMember, newUser, type TestUser, tokenFor, useTestServer } from '../../../../../test/harness.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import { credentialResolver } from '../credentials/service.ts';
import { createApiKey } from './service.ts';

const server = useTestServer();
const KEY_FORMAT = /^fl_[0-9A-Za-z]{49}$/;

async function createKey(owner: { orgId: string; token: string }, body: Record<string, unknown>) {
  return server.request('POST', `/api/v1/orgs/${owner.orgId}/api-keys`, { token: owner.token, body });
}

async function keyOf(owner: { orgId: string; token: string }, body: Record<string, unknown>) {
  const created = await createKey(owner, { name: 'test key', ...body });
  if (created.status !== 201) throw new Error(`key creation failed: ${created.status} ${created.text}`);
  return { id: created.body.id as string, key: created.body.key as string };
}

const withKey = (key: string) => ({ headers: { 'x-api-key': key } });

/** A member of `owner`'s org with `role`, and their token in it. */
async function colleague(owner: TestUser, role: 'admin' | 'member' | 'viewer') {
  const user = await newUser(server, role);
  await addMember(server, owner.orgId, user.userId, role);
  return { ...user, orgId: owner.orgId, token: await tokenFor(server, user, owner.orgId) };
}

describe('API keys: creation and format', () => {
  it('shows an fl_ key once, stores only its SHA-256, and lists it without the secret', async () => {
    const owner = await newUser(server);
    const created = await createKey(owner, {
      name: '  CI  ',
      description: 'pipeline',
      scopes: ['read:workspaces', 'read:workspaces', 'read:org'],
    });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(KEY_FORMAT);
    expect(created.body).toMatchObject({
      name: 'CI',
      description: 'pipeline',
      scopes: ['read:workspaces', 'read:org'],
      workspace_id: null,
      expires_at: null,
      last_used_at: null,
      rate_limit: null,
      revoked_at: null,
      created_by: { user_id: owner.userId, api_key_id: null },
    });
    expect(created.body.key.startsWith(created.body.key_start)).toBe(true);
    const row = await server.deps.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(sha256Hex(created.body.key));
    expect(JSON.stringify(row)).not.toContain(created.body.key);

    const listed = await server.request('GET', `/api/v1/orgs/${owner.orgId}/api-keys`, {
      token: owner.token,
    });
    expect(listed.body.data).toHaveLength(1);
    expect(listed.text).not.toContain(created.body.key);
    const one = await server.request('GET', `/api/v1/orgs/${owner.orgId}/api-keys/${created.body.id}`, {
      token: owner.token,
    });
    expect(one.body.key).toBeUndefined();
    expect(one.body.id).toBe(created.body.id);
  });

  it('refuses unknown scopes (400), platform-admin powers (400) and scopes beyond the caller (403)', async () => {
    const owner = await newUser(server);
    const unknown = await createKey(owner, { name: 'k', scopes: ['read:everything'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('unknown_scope');
    expect(unknown.body.errors[0].path).toBe('body.scopes');
    expect((await createKey(owner, { name: 'k', scopes: ['suspend:org'] })).status).toBe(400);
    expect((await createKey(owner, { name: 'k', scopes: [] })).status).toBe(400);

    const admin = await colleague(owner, 'admin');
    const beyond = await createKey(admin, { name: 'k', scopes: ['read:org', 'delete:org', 'write:billing'] });
    expect(beyond.status).toBe(403);
    expect(beyond.body.code).toBe('scope_exceeds_permissions');
    expect(beyond.body.detail).toContain('delete:org');
    expect(beyond.body.detail).toContain('write:billing');
    const member = await colleague(owner, 'member');
    expect((await createKey(member, { name: 'k', scopes: ['read:org'] })).status).toBe(403);
  });

  it('validates expires_at (future, real) and the workspace (another org’s is 404)', async () => {
    const owner = await newUser(server);
    const past = await createKey(owner, {
      name: 'k',
      scopes: ['read:org'],
      expires_at: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(400);
    expect(past.body.code).toBe('invalid_expiry');
    const leap = await createKey(owner, {
      name: 'k',
      scopes: ['read:org'],
      expires_at: '2016-12-31T23:59:60Z',
    });
    expect(leap.status).toBe(400);
    const stranger = await newUser(server);
    const theirs = await server.request('POST', `/api/v1/orgs/${stranger.orgId}/workspaces`, {
      token: stranger.token,
      body: { name: 'theirs' },
    });
    const foreign = await createKey(owner, { name: 'k', scopes: ['read:org'], workspace_id: theirs.body.id });
    expect(foreign.status).toBe(404);
  });

  it('lists with a cursor, hides revoked keys unless asked, and audits creation and revocation', async () => {
    const owner = await newUser(server);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await keyOf(owner, { name: `k${i}`, scopes: ['read:org'] })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await server.request('GET', `/api/v1/orgs/${owner.orgId}/api-keys${query}`, {
        token: owner.token,
      });
      seen.push(...page.body.data.map((key: { id: string }) => key.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);

    const revoked = ids[0] as string;
    expect(
      (
        await server.request('DELETE', `/api/v1/orgs/${owner.orgId}/api-keys/${revoked}`, {
          token: owner.token,
        })
      ).status,
    ).toBe(204);
    // Idempotent: revoking again is fine.
    expect(
      (
        await server.request('DELETE', `/api/v1/orgs/${owner.orgId}/api-keys/${revoked}`, {
          token: owner.token,
        })
      ).status,
    ).toBe(204);
    const active = await server.request('GET', `/api/v1/orgs/${owner.orgId}/api-keys`, {
      token: owner.token,
    });
    expect(active.body.data.map((key: { id: string }) => key.id)).not.toContain(revoked);
    const all = await server.request('GET', `/api/v1/orgs/${owner.orgId}/api-keys?include_revoked=true`, {
      token: owner.token,
    });
    const shown = all.body.data.find((key: { id: string }) => key.id === revoked);
    expect(shown.revoked_at).toEqual(expect.any(String));

    const log = await server.request('GET', `/api/v1/orgs/${owner.orgId}/audit-logs?target_id=${revoked}`, {
      token: owner.token,
    });
    expect(log.body.data.map((entry: { action: string }) => entry.action)).toEqual([
      'api_key.revoked',
      'api_key.created',
    ]);
  });

  it('PATCH renames and sets a rate limit; scopes cannot be changed', async () => {
    const owner = await newUser(server);
    const { id } = await keyOf(owner, { scopes: ['read:org'] });
    const url = `/api/v1/orgs/${owner.orgId}/api-keys/${id}`;
    const patched = await server.request('PATCH', url, {
      token: owner.token,
      body: { name: 'renamed', rate_limit: { requests: 5, per_seconds: 10 } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'renamed', rate_limit: { requests: 5, per_seconds: 10 } });
    expect(
      (await server.request('PATCH', url, { token: owner.token, body: { scopes: ['write:org'] } })).status,
    ).toBe(400);
  });

  it('publishes the scope catalogue', async () => {
    const catalogue = await server.request('GET', '/api/v1/scopes');
    expect(catalogue.status).toBe(200);
    expect(catalogue.body.scopes).toContain('read:solutions');
    expect(catalogue.body.scopes).toContain('write:api_keys');
    expect(catalogue.body.scopes).not.toContain('suspend:org');
  });
});

describe('API keys: use', () => {
  it('authenticates with X-API-Key and acts with exactly its scopes', async () => {
    const owner = await newUser(server);
    const { id, key } = await keyOf(owner, { scopes: ['read:org', 'read:workspaces'] });
    const whoami = await server.request('GET', '/api/v1/auth/whoami', withKey(key));
    expect(whoami.status).toBe(200);
    expect(whoami.body).toMatchObject({
      user_id: owner.userId,
      email: owner.email,
      organization: { id: owner.orgId },
      role: 'owner',
      credential: { type: 'api_key', id },
    });
    expect(whoami.body.scopes.sort()).toEqual(['read:org', 'read:workspaces']);
    const base = `/api/v1/orgs/${owner.orgId}/workspaces`;
    expect((await server.request('GET', base, withKey(key))).status).toBe(200);
    const write = await server.request('POST', base, { ...withKey(key), body: { name: 'nope' } });
    expect(write.status).toBe(403);
    expect(write.body.code).toBe('permission_denied');
    // Another org through this key: 404, as for everyone.
    const stranger = await newUser(server);
    expect(
      (await server.request('GET', `/api/v1/orgs/${stranger.orgId}/workspaces`, withKey(key))).status,
    ).toBe(404);
  });

  it('X-API-Key wins over Authorization: Bearer, even when the key is bad', async () => {
    const owner = await newUser(server);
    const other = await newUser(server);
    const { key } = await keyOf(owner, { scopes: ['read:org'] });
    const both = await server.request('GET', '/api/v1/auth/whoami', {
      token: other.token,
      headers: { 'x-api-key': key },
    });
    expect(both.body.organization.id).toBe(owner.orgId);
    const badKey = await server.request('GET', '/api/v1/auth/whoami', {
      token: other.token,
      headers: { 'x-api-key': `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}` },
    });
    expect(badKey.status).toBe(401);
  });

  it('refuses malformed, unknown and revoked keys with 401 (revocation takes effect at once)', async () => {
    const owner = await newUser(server);
    const { id, key } = await keyOf(owner, { scopes: ['read:org'] });
    for (const bad of ['fl_', 'fl_short', `${key}x`, key.toUpperCase(), `fl_${'0'.repeat(49)}`]) {
      expect((await server.request('GET', '/api/v1/auth/whoami', withKey(bad))).status).toBe(401);
    }
    expect((await server.request('GET', '/api/v1/auth/whoami', withKey(key))).status).toBe(200);
    await server.request('DELETE', `/api/v1/orgs/${owner.orgId}/api-keys/${id}`, { token: owner.token });
    const after = await server.request('GET', '/api/v1/auth/whoami', withKey(key));
    expect(after.status).toBe(401);
    expect(after.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('an expired key stops', async () => {
    const owner = await newUser(server);
    const { id, key } = await keyOf(owner, {
      scopes: ['read:org'],
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect((await server.request('GET', '/api/v1/auth/whoami', withKey(key))).status).toBe(200);
    await server.deps.db
      .updateTable('api_keys')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute();
    server.deps.caches.forget([`key:${id}`]);
    expect((await server.request('GET', '/api/v1/auth/whoami', withKey(key))).status).toBe(401);
  });

  it('shrinks with its creator’s role and stops for good when they leave', async () => {
    const owner = await newUser(server);
    const admin = await colleague(owner, 'admin');
    const { id, key } = await keyOf(admin, { scopes: ['read:workspaces', 'write:workspaces'] });
    const base = `/api/v1/orgs/${owner.orgId}/workspaces`;
    expect((await server.request('POST', base, { ...withKey(key), body: { name: 'a' } })).status).toBe(201);

    const members = `/api/v1/orgs/${owner.orgId}/members/${admin.userId}`;
    await server.request('PATCH', members, { token: owner.token, body: { role: 'viewer' } });
    expect((await server.request('POST', base, { ...withKey(key), body: { name: 'b' } })).status).toBe(403);
    expect((await server.request('GET', base, withKey(key))).status).toBe(200);
    const whoami = await server.request('GET', '/api/v1/auth/whoami', withKey(key));
    expect(whoami.body.scopes).toEqual(['read:workspaces']);

    await server.request('PATCH', members, { token: owner.token, body: { role: 'admin' } });
    expect((await server.request('POST', base, { ...withKey(key), body: { name: 'c' } })).status).toBe(201);

    await server.request('DELETE', members, { token: owner.token });
    expect((await server.request('GET', base, withKey(key))).status).toBe(401);
    const row = await server.deps.db
      .selectFrom('api_keys')
      .select('revoked_at')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.revoked_at).not.toBeNull();
    // Invited again later: the old key stays revoked.
    await addMember(server, owner.orgId, admin.userId, 'admin');
    server.deps.caches.forget([`org:${owner.orgId}`]);
    expect((await server.request('GET', base, withKey(key))).status).toBe(401);
  });

  it('a key can mint keys only within its own scopes; revoking it revokes them', async () => {
    const owner = await newUser(server);
    const parent = await keyOf(owner, { scopes: ['read:org', 'read:api_keys', 'write:api_keys'] });
    const url = `/api/v1/orgs/${owner.orgId}/api-keys`;
    const more = await server.request('POST', url, {
      ...withKey(parent.key),
      body: { name: 'child', scopes: ['read:org', 'write:workspaces'] },
    });
    expect(more.status).toBe(403);
    expect(more.body.detail).toContain('write:workspaces');
    const child = await server.request('POST', url, {
      ...withKey(parent.key),
      body: { name: 'child', scopes: ['read:org'] },
    });
    expect(child.status).toBe(201);
    expect(child.body.created_by).toEqual({ user_id: owner.userId, api_key_id: parent.id });
    const grandchild = await server.request('POST', url, {
      ...withKey(parent.key),
      body: { name: 'grandchild', scopes: ['read:org'] },
    });
    expect((await server.request('GET', '/api/v1/auth/whoami', withKey(child.body.key))).status).toBe(200);

    await server.request('DELETE', `${url}/${parent.id}`, { token: owner.token });
    for (const key of [parent.key, child.body.key, grandchild.body.key]) {
      expect((await server.request('GET', '/api/v1/auth/whoami', withKey(key))).status).toBe(401);
    }
  });

  it('a workspace-restricted key reaches only that workspace', async () => {
    const owner = await newUser(server);
    const base = `/api/v1/orgs/${owner.orgId}/workspaces`;
    const mine = (await server.request('POST', base, { token: owner.token, body: { name: 'mine' } })).body.id;
    const other = (await server.request('POST', base, { token: owner.token, body: { name: 'other' } })).body
      .id;
    const { key } = await keyOf(owner, {
      scopes: ['read:workspaces', 'read:environments'],
      workspace_id: mine,
    });
    expect((await server.request('GET', `${base}/${mine}`, withKey(key))).status).toBe(200);
    expect((await server.request('GET', `${base}/${mine}/environments`, withKey(key))).status).toBe(200);
    expect((await server.request('GET', `${base}/${other}`, withKey(key))).status).toBe(404);
    const list = await server.request('GET', base, withKey(key));
    expect(list.status).toBe(403);
    expect(list.body.code).toBe('workspace_restricted');
    // Deleting the workspace deletes the key with it.
    await server.request('DELETE', `${base}/${mine}`, { token: owner.token });
    expect((await server.request('GET', '/api/v1/auth/whoami', withKey(key))).status).toBe(401);
  });

  it('keys cannot act as users: no org switching, no org creation', async () => {
    const owner = await newUser(server);
    const { key } = await keyOf(owner, { scopes: ['read:org'] });
    const other = await newUser(server);
    const switched = await server.request('POST', '/api/v1/auth/switch-org', {
      ...withKey(key),
      body: { org_id: other.orgId },
    });
    expect(switched.status).toBe(403);
    expect(switched.body.code).toBe('credential_not_allowed');
    expect((await server.request('GET', '/api/v1/orgs', withKey(key))).status).toBe(403);
  });

  it('stops while its org is archived, owner’s key included', async () => {
    const owner = await newUser(server);
    const { key } = await keyOf(owner, { scopes: ['read:org'] });
    await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, { token: owner.token });
    const read = await server.request('GET', `/api/v1/orgs/${owner.orgId}`, withKey(key));
    expect(read.status).toBe(403);
    expect(read.body.code).toBe('org_archived');
    expect((await server.request('GET', '/api/v1/auth/whoami', withKey(key))).body.code).toBe('org_archived');
    await server.request('POST', `/api/v1/orgs/${owner.orgId}/restore`, { token: owner.token });
    expect((await server.request('GET', `/api/v1/orgs/${owner.orgId}`, withKey(key))).status).toBe(200);
  });

  it('records last_used_at in batches', async () => {
    const owner = await newUser(server);
    const { id, key } = await keyOf(owner, { scopes: ['read:org'] });
    const url = `/api/v1/orgs/${owner.orgId}/api-keys/${id}`;
    await server.request('GET', '/api/v1/auth/whoami', withKey(key));
    await server.request('GET', '/api/v1/auth/whoami', withKey(key));
    await server.deps.lastUsed.flush();
    const used = (await server.request('GET', url, { token: owner.token })).body.last_used_at;
    expect(Date.now() - Date.parse(used)).toBeLessThan(10_000);
  });

  it('enforces a per-key rate limit with 429 and Retry-After', async () => {
    const owner = await newUser(server);
    const { key } = await keyOf(owner, {
      scopes: ['read:org'],
      rate_limit: { requests: 3, per_seconds: 60 },
    });
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 5; i++) {
      const response = await server.request('GET', '/api/v1/auth/whoami', withKey(key));
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers['retry-after'];
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Concurrent requests cannot slip past it either.
    const burst = await keyOf(owner, { scopes: ['read:org'], rate_limit: { requests: 4, per_seconds: 60 } });
    const parallel = await Promise.all(
      Array.from({ length: 10 }, () => server.request('GET', '/api/v1/auth/whoami', withKey(burst.key))),
    );
    expect(parallel.filter((response) => response.status === 200)).toHaveLength(4);
    expect(parallel.filter((response) => response.status === 429)).toHaveLength(6);
  });
});

describe('API keys: revocation reaches what a key made', () => {
  it('deploy and service tokens created with a key stop when the key is revoked', async () => {
    const owner = await newUser(server);
    const ws = (
      await server.request('POST', `/api/v1/orgs/${owner.orgId}/workspaces`, {
        token: owner.token,
        body: { name: 'w' },
      })
    ).body.id;
    const wsUrl = `/api/v1/orgs/${owner.orgId}/workspaces/${ws}`;
    const env = (
      await server.request('POST', `${wsUrl}/environments`, {
        token: owner.token,
        body: { name: 'Prod', slug: 'prod', tier: 'prod', deployment_host: 'aws' },
      })
    ).body.id;
    const service = (
      await server.request('POST', `${wsUrl}/hosted-services`, { token: owner.token, body: { name: 'svc' } })
    ).body.id;
    const { id, key } = await keyOf(owner, {
      scopes: ['write:deploy_tokens', 'mint:service_tokens', 'read:deployments'],
    });
    const deploy = await server.request('POST', `${wsUrl}/environments/${env}/deploy-tokens`, {
      ...withKey(key),
      body: { name: 'ci' },
    });
    expect(deploy.status).toBe(201);
    const minted = await server.request('POST', `${wsUrl}/hosted-services/${service}/service-tokens/mint`, {
      ...withKey(key),
      body: { ttl_minutes: 60 },
    });
    expect(minted.status).toBe(201);
    const deploymentsUrl = `${wsUrl}/environments/${env}/deployments`;
    expect((await server.request('GET', deploymentsUrl, withKey(deploy.body.token))).status).toBe(200);
    const introspect = () =>
      server.request('POST', '/api/v1/auth/introspect', {
        token: owner.token,
        body: { token: minted.body.token },
      });
    expect((await introspect()).body.active).toBe(true);

    await server.request('DELETE', `/api/v1/orgs/${owner.orgId}/api-keys/${id}`, { token: owner.token });
    expect((await server.request('GET', deploymentsUrl, withKey(deploy.body.token))).status).toBe(401);
    expect((await introspect()).body).toEqual({ active: false });
    const log = await server.request('GET', `/api/v1/orgs/${owner.orgId}/audit-logs?limit=100`, {
      token: owner.token,
    });
    const actions: string[] = log.body.data.map((entry: { action: string }) => entry.action);
    expect(actions.filter((action) => action.endsWith('.revoked')).sort()).toEqual([
      'api_key.revoked',
      'deploy_token.revoked',
      'service_token.revoked',
    ]);
  });
});

describe('API keys: regressions from review', () => {
  it('a request authorised just before its key was revoked cannot leave a live child key', async () => {
    const owner = await newUser(server);
    const parent = await keyOf(owner, { scopes: ['write:api_keys', 'read:org'] });
    const principal = await credentialResolver(server.deps).resolve(parent.key);
    if (!principal) throw new Error('the parent key should resolve');
    await server.request('DELETE', `/api/v1/orgs/${owner.orgId}/api-keys/${parent.id}`, {
      token: owner.token,
    });
    const actor = { principal, ip: '127.0.0.1', requestId: 'race', userAgent: null };
    await expect(
      createApiKey(server.deps, actor, owner.orgId, { name: 'child', scopes: ['read:org'] }),
    ).rejects.toMatchObject({ status: 401 });
    const children = await server.deps.db
      .selectFrom('api_keys')
      .select('id')
      .where('created_by_api_key_id', '=', parent.id)
      .execute();
    expect(children).toEqual([]);
  });

  it('a rate-limited key can neither lift its own limit nor create a looser key', async () => {
    const owner = await newUser(server);
    const limited = await keyOf(owner, {
      scopes: ['read:org', 'write:api_keys', 'read:api_keys'],
      rate_limit: { requests: 100, per_seconds: 60 },
    });
    const url = `/api/v1/orgs/${owner.orgId}/api-keys`;
    const lift = await server.request('PATCH', `${url}/${limited.id}`, {
      ...withKey(limited.key),
      body: { rate_limit: null },
    });
    expect(lift.status).toBe(403);
    expect(lift.body.code).toBe('rate_limit_exceeds_caller');
    const unlimited = await server.request('POST', url, {
      ...withKey(limited.key),
      body: { name: 'c', scopes: ['read:org'] },
    });
    expect(unlimited.status).toBe(403);
    const looser = await server.request('POST', url, {
      ...withKey(limited.key),
      body: { name: 'c', scopes: ['read:org'], rate_limit: { requests: 10, per_seconds: 1 } },
    });
    expect(looser.status).toBe(403);
    const stricter = await server.request('POST', url, {
      ...withKey(limited.key),
      body: { name: 'c', scopes: ['read:org'], rate_limit: { requests: 50, per_seconds: 60 } },
    });
    expect(stricter.status).toBe(201);
  });
});

describe('API keys: what an expiring key makes expires with it', () => {
  it('a service token minted with a key never outlives the key; a deploy token must say so', async () => {
    const owner = await newUser(server);
    const ws = (
      await server.request('POST', `/api/v1/orgs/${owner.orgId}/workspaces`, {
        token: owner.token,
        body: { name: 'w' },
      })
    ).body.id;
    const wsUrl = `/api/v1/orgs/${owner.orgId}/workspaces/${ws}`;
    const service = (
      await server.request('POST', `${wsUrl}/hosted-services`, { token: owner.token, body: { name: 'svc' } })
    ).body.id;
    const env = (
      await server.request('POST', `${wsUrl}/environments`, {
        token: owner.token,
        body: { name: 'Prod', slug: 'prod', tier: 'prod', deployment_host: 'aws' },
      })
    ).body.id;
    const keyExpiry = Date.now() + 10 * 60_000;
    const { key } = await keyOf(owner, {
      scopes: ['mint:service_tokens', 'write:deploy_tokens'],
      expires_at: new Date(keyExpiry).toISOString(),
    });
    const minted = await server.request('POST', `${wsUrl}/hosted-services/${service}/service-tokens/mint`, {
      ...withKey(key),
      body: { ttl_minutes: 60 },
    });
    expect(minted.status).toBe(201);
    expect(Date.parse(minted.body.expires_at)).toBeLessThanOrEqual(keyExpiry);
    const unbounded = await server.request('POST', `${wsUrl}/environments/${env}/deploy-tokens`, {
      ...withKey(key),
      body: { name: 'ci' },
    });
    expect(unbounded.status).toBe(400);
    expect(unbounded.body.code).toBe('invalid_expiry');
    expect(unbounded.body.errors[0].path).toBe('body.expires_at');
  });
});
