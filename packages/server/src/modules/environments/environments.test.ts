import { describe, expect, it } from 'vitest';
import { addMember, newUser, tokenFor, useTestServer } from '../../../../../test/harness.ts';
import { readCloudCredentials } from './service.ts';

const server = useTestServer();

async function workspace() {
  const user = await newUser(server);
  const ws = await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces`, {
    token: user.token,
    body: { name: 'W' },
  });
  return {
    user,
    wsId: ws.body.id as string,
    base: `/api/v1/orgs/${user.orgId}/workspaces/${ws.body.id}/environments`,
  };
}

const SECRET = { service_account_key: 'super-secret-value-123', project: 'acme-prod' };

describe('environments', () => {
  it('creates an environment; cloud credentials are write-only and encrypted at rest', async () => {
    const { user, wsId, base } = await workspace();
    const created = await server.request('POST', base, {
      token: user.token,
      body: {
        name: 'Production',
        slug: 'prod',
        tier: 'prod',
        deployment_host: 'cloudrun',
        execution_backend: { type: 'docker', cpu: 2 },
        cloud_credentials: SECRET,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      workspace_id: wsId,
      slug: 'prod',
      tier: 'prod',
      deployment_host: 'cloudrun',
      execution_backend: { type: 'docker', cpu: 2 },
      has_cloud_credentials: true,
    });
    expect(created.text).not.toContain('super-secret');
    expect(created.body).not.toHaveProperty('cloud_credentials');
    const fetched = await server.request('GET', `${base}/${created.body.id}`, { token: user.token });
    expect(fetched.text).not.toContain('super-secret');
    const listed = await server.request('GET', base, { token: user.token });
    expect(listed.text).not.toContain('super-secret');

    const row = await server.deps.db
      .selectFrom('environments')
      .select('cloud_credentials_sealed')
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(row.cloud_credentials_sealed).toMatch(/^v1\./);
    expect(row.cloud_credentials_sealed).not.toContain('super-secret');
    expect(await readCloudCredentials(server.deps, user.orgId, wsId, created.body.id)).toEqual(SECRET);

    const audit = await server.request('GET', `/api/v1/orgs/${user.orgId}/audit-logs`, { token: user.token });
    expect(audit.text).not.toContain('super-secret');
  });

  it('a sealed credential copied to another environment does not decrypt (bound by AAD)', async () => {
    const { user, wsId, base } = await workspace();
    const a = await server.request('POST', base, {
      token: user.token,
      body: { name: 'A', slug: 'a', tier: 'dev', deployment_host: 'aws', cloud_credentials: SECRET },
    });
    const b = await server.request('POST', base, {
      token: user.token,
      body: { name: 'B', slug: 'b', tier: 'dev', deployment_host: 'aws' },
    });
    const sealed = await server.deps.db
      .selectFrom('environments')
      .select('cloud_credentials_sealed')
      .where('id', '=', a.body.id)
      .executeTakeFirstOrThrow();
    await server.deps.db
      .updateTable('environments')
      .set({ cloud_credentials_sealed: sealed.cloud_credentials_sealed })
      .where('id', '=', b.body.id)
      .execute();
    await expect(readCloudCredentials(server.deps, user.orgId, wsId, b.body.id)).rejects.toThrow();
  });

  it('updates fields, replaces and clears credentials', async () => {
    const { user, base } = await workspace();
    const env = await server.request('POST', base, {
      token: user.token,
      body: { name: 'Dev', slug: 'dev', tier: 'dev', deployment_host: 'localhost' },
    });
    expect(env.body.has_cloud_credentials).toBe(false);
    expect(env.body.execution_backend).toEqual({});
    const set = await server.request('PATCH', `${base}/${env.body.id}`, {
      token: user.token,
      body: { tier: 'stage', cloud_credentials: SECRET },
    });
    expect(set.body).toMatchObject({ tier: 'stage', has_cloud_credentials: true });
    const cleared = await server.request('PATCH', `${base}/${env.body.id}`, {
      token: user.token,
      body: { cloud_credentials: null },
    });
    expect(cleared.body.has_cloud_credentials).toBe(false);
    expect((await server.request('DELETE', `${base}/${env.body.id}`, { token: user.token })).status).toBe(
      204,
    );
    expect((await server.request('GET', `${base}/${env.body.id}`, { token: user.token })).status).toBe(404);
  });

  it('slugs are unique within a workspace (409), free across workspaces', async () => {
    const { user, base } = await workspace();
    const body = { name: 'P', slug: 'prod', tier: 'prod', deployment_host: 'aws' };
    expect((await server.request('POST', base, { token: user.token, body })).status).toBe(201);
    const clash = await server.request('POST', base, { token: user.token, body });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('slug_taken');
    const other = await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces`, {
      token: user.token,
      body: { name: 'Other' },
    });
    const elsewhere = await server.request(
      'POST',
      `/api/v1/orgs/${user.orgId}/workspaces/${other.body.id}/environments`,
      { token: user.token, body },
    );
    expect(elsewhere.status).toBe(201);
    const dev = await server.request('POST', base, { token: user.token, body: { ...body, slug: 'dev' } });
    const rename = await server.request('PATCH', `${base}/${dev.body.id}`, {
      token: user.token,
      body: { slug: 'prod' },
    });
    expect(rename.status).toBe(409);
  });

  it('refuses unknown tiers, hosts and bad slugs', async () => {
    const { user, base } = await workspace();
    const response = await server.request('POST', base, {
      token: user.token,
      body: {
        name: 'X',
        slug: 'Not A Slug',
        tier: 'qa',
        deployment_host: 'azure',
        cloud_credentials: 'string',
      },
    });
    expect(response.status).toBe(400);
    const paths = response.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(['body.slug', 'body.tier', 'body.deployment_host', 'body.cloud_credentials']),
    );
  });

  it('answers 400, not 500, for text the database cannot store (NUL characters)', async () => {
    const { user, base } = await workspace();
    for (const body of [
      { name: 'a\u0000b', slug: 'n1', tier: 'dev', deployment_host: 'aws' },
      { name: 'x', slug: 'n2', tier: 'dev', deployment_host: 'aws', execution_backend: { k: 'x\u0000y' } },
    ]) {
      const response = await server.request('POST', base, { token: user.token, body });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('invalid_input');
    }
  });

  it('deleting a workspace deletes its environments; a missing workspace is 404', async () => {
    const { user, wsId, base } = await workspace();
    await server.request('POST', base, {
      token: user.token,
      body: { name: 'P', slug: 'p', tier: 'prod', deployment_host: 'aws' },
    });
    await server.request('DELETE', `/api/v1/orgs/${user.orgId}/workspaces/${wsId}`, { token: user.token });
    const rows = await server.deps.db
      .selectFrom('environments')
      .select('id')
      .where('workspace_id', '=', wsId)
      .execute();
    expect(rows).toHaveLength(0);
    expect((await server.request('GET', base, { token: user.token })).status).toBe(404);
    expect(
      (
        await server.request('POST', base, {
          token: user.token,
          body: { name: 'P', slug: 'p', tier: 'prod', deployment_host: 'aws' },
        })
      ).status,
    ).toBe(404);
  });

  it('members may read but not write environments', async () => {
    const { user, base } = await workspace();
    const member = await newUser(server);
    await addMember(server, user.orgId, member.userId, 'member');
    const token = await tokenFor(server, member, user.orgId);
    expect((await server.request('GET', base, { token })).status).toBe(200);
    expect(
      (
        await server.request('POST', base, {
          token,
          body: { name: 'P', slug: 'p', tier: 'prod', deployment_host: 'aws' },
        })
      ).status,
    ).toBe(403);
  });
});
