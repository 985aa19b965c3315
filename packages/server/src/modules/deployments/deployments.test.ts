import { describe, expect, it } from 'vitest';
import { addMember, newUser, type TestUser, tokenFor, useTestServer } from '../../../../../test/harness.ts';
import { sha256Hex } from '../../platform/crypto.ts';

const server = useTestServer();
const TOKEN_FORMAT = /^fl_deploy_[0-9A-Za-z]{49}$/;

interface Place {
  owner: TestUser;
  wsId: string;
  envId: string;
  /** `/api/v1/orgs/{org}/workspaces/{ws}/environments/{env}` */
  envUrl: string;
}

/** A fresh owner with a workspace and an environment in their org. */
async function environment(owner?: TestUser, wsId?: string): Promise<Place> {
  const user = owner ?? (await newUser(server));
  let workspace = wsId;
  if (!workspace) {
    const ws = await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces`, {
      token: user.token,
      body: { name: 'W' },
    });
    workspace = ws.body.id as string;
  }
  const env = await server.request(
    'POST',
    `/api/v1/orgs/${user.orgId}/workspaces/${workspace}/environments`,
    {
      token: user.token,
      body: {
        name: 'Prod',
        slug: `p-${Math.random().toString(36).slice(2, 8)}`,
        tier: 'prod',
        deployment_host: 'aws',
      },
    },
  );
  if (env.status !== 201) throw new Error(`environment: ${env.status} ${env.text}`);
  return {
    owner: user,
    wsId: workspace,
    envId: env.body.id,
    envUrl: `/api/v1/orgs/${user.orgId}/workspaces/${workspace}/environments/${env.body.id}`,
  };
}

async function deployToken(place: Place, body: Record<string, unknown> = {}, token = place.owner.token) {
  const created = await server.request('POST', `${place.envUrl}/deploy-tokens`, {
    token,
    body: { name: 'CI', ...body },
  });
  if (created.status !== 201) throw new Error(`deploy token: ${created.status} ${created.text}`);
  return { id: created.body.id as string, token: created.body.token as string, body: created.body };
}

const bearer = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });

/** A member of `owner`'s org with `role`, and their token in it. */
async function colleague(owner: TestUser, role: 'admin' | 'member' | 'viewer') {
  const user = await newUser(server, role);
  await addMember(server, owner.orgId, user.userId, role);
  return { ...user, orgId: owner.orgId, token: await tokenFor(server, user, owner.orgId) };
}

async function auditActions(owner: TestUser, targetId: string) {
  const log = await server.request('GET', `/api/v1/orgs/${owner.orgId}/audit-logs?target_id=${targetId}`, {
    token: owner.token,
  });
  expect(log.status).toBe(200);
  return log.body.data as {
    action: string;
    actor: { type: string; id: string };
    metadata: Record<string, unknown>;
  }[];
}

describe('deploy tokens: creation and management', () => {
  it('shows an fl_deploy_ token once, stores only its SHA-256 and lists it without the secret', async () => {
    const place = await environment();
    const created = await server.request('POST', `${place.envUrl}/deploy-tokens`, {
      token: place.owner.token,
      body: { name: '  GitHub Actions  ' },
    });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(TOKEN_FORMAT);
    expect(created.body).toEqual({
      id: expect.any(String),
      org_id: place.owner.orgId,
      workspace_id: place.wsId,
      environment_id: place.envId,
      name: 'GitHub Actions',
      token_start: created.body.token.slice(0, 'fl_deploy_'.length + 8),
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      created_by: { user_id: place.owner.userId },
      created_at: expect.any(String),
      token: created.body.token,
    });
    const row = await server.deps.db
      .selectFrom('deploy_tokens')
      .selectAll()
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(sha256Hex(created.body.token));
    expect(JSON.stringify(row)).not.toContain(created.body.token);

    const listed = await server.request('GET', `${place.envUrl}/deploy-tokens`, { token: place.owner.token });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((t: { id: string }) => t.id)).toEqual([created.body.id]);
    expect(listed.body.data[0].token).toBeUndefined();
    expect(listed.text).not.toContain(created.body.token);

    const audit = await auditActions(place.owner, created.body.id);
    expect(audit.map((entry) => entry.action)).toEqual(['deploy_token.created']);
    expect(JSON.stringify(audit)).not.toContain(created.body.token);
  });

  it('validates the name and expires_at (future, real: a leap second is refused)', async () => {
    const place = await environment();
    const url = `${place.envUrl}/deploy-tokens`;
    const send = (body: unknown) => server.request('POST', url, { token: place.owner.token, body });
    for (const body of [
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(201) },
      {},
      { name: 'a', extra: 1 },
    ]) {
      const response = await send(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    for (const expires_at of ['2020-01-01T00:00:00Z', '2016-12-31T23:59:60Z']) {
      const response = await send({ name: 'a', expires_at });
      expect(response.status, expires_at).toBe(400);
      expect(response.body.code).toBe('invalid_expiry');
      expect(response.body.errors[0].path).toBe('body.expires_at');
    }
    expect((await send({ name: 'a', expires_at: 'tomorrow' })).status).toBe(400);
    expect((await send({ name: 'a\u0000b' })).status).toBe(400);
    const future = new Date(Date.now() + 3600_000).toISOString();
    const ok = await send({ name: 'a', expires_at: future });
    expect(ok.status).toBe(201);
    expect(ok.body.expires_at).toBe(future);
  });

  it('only admins and owners create and revoke them; members list them, viewers (no key access) cannot', async () => {
    const place = await environment();
    const member = await colleague(place.owner, 'member');
    const denied = await server.request('POST', `${place.envUrl}/deploy-tokens`, {
      token: member.token,
      body: { name: 'x' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('permission_denied');
    const admin = await colleague(place.owner, 'admin');
    const made = await deployToken(place, {}, admin.token);
    expect(made.body.created_by).toEqual({ user_id: admin.userId });
    expect(
      (await server.request('DELETE', `${place.envUrl}/deploy-tokens/${made.id}`, { token: member.token }))
        .status,
    ).toBe(403);
    const listed = await server.request('GET', `${place.envUrl}/deploy-tokens`, { token: member.token });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(1);
    const viewer = await colleague(place.owner, 'viewer');
    expect(
      (await server.request('GET', `${place.envUrl}/deploy-tokens`, { token: viewer.token })).status,
    ).toBe(403);
  });

  it('can be created with an API key holding write:deploy_tokens', async () => {
    const place = await environment();
    const key = await server.request('POST', `/api/v1/orgs/${place.owner.orgId}/api-keys`, {
      token: place.owner.token,
      body: { name: 'automation', scopes: ['write:deploy_tokens', 'read:deployments'] },
    });
    expect(key.status).toBe(201);
    const made = await server.request('POST', `${place.envUrl}/deploy-tokens`, {
      headers: { 'x-api-key': key.body.key },
      body: { name: 'from a key' },
    });
    expect(made.status).toBe(201);
    expect(made.body.created_by).toEqual({ user_id: place.owner.userId });
    const audit = await auditActions(place.owner, made.body.id);
    expect(audit[0]?.actor).toMatchObject({ type: 'api_key', id: key.body.id });
  });

  it('are scoped to their environment: another environment, workspace or org answers 404', async () => {
    const place = await environment();
    const { id } = await deployToken(place);
    const sibling = await environment(place.owner, place.wsId);
    expect(
      (await server.request('DELETE', `${sibling.envUrl}/deploy-tokens/${id}`, { token: place.owner.token }))
        .status,
    ).toBe(404);
    const listed = await server.request('GET', `${sibling.envUrl}/deploy-tokens`, {
      token: place.owner.token,
    });
    expect(listed.body.data).toEqual([]);
    const stranger = await environment();
    // A stranger's own environment with the victim's token id, and the victim's environment.
    expect(
      (
        await server.request('DELETE', `${stranger.envUrl}/deploy-tokens/${id}`, {
          token: stranger.owner.token,
        })
      ).status,
    ).toBe(404);
    expect(
      (await server.request('GET', `${place.envUrl}/deploy-tokens`, { token: stranger.owner.token })).status,
    ).toBe(404);
    const missing = `/api/v1/orgs/${place.owner.orgId}/workspaces/${place.wsId}/environments/0190a6f0-0000-7000-8000-000000000000`;
    expect(
      (
        await server.request('POST', `${missing}/deploy-tokens`, {
          token: place.owner.token,
          body: { name: 'x' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await server.request('GET', `${missing}/deploy-tokens`, { token: place.owner.token })).status,
    ).toBe(404);
    expect(
      (
        await server.request('DELETE', `${place.envUrl}/deploy-tokens/0190a6f0-0000-7000-8000-000000000000`, {
          token: place.owner.token,
        })
      ).status,
    ).toBe(404);
  });
});

describe('deploy tokens: what they can reach', () => {
  it('record, list, read and update deployments of their own environment (Bearer and X-API-Key)', async () => {
    const place = await environment();
    const { id, token } = await deployToken(place);
    const created = await server.request('POST', `${place.envUrl}/deployments`, {
      ...bearer(token),
      body: { version: '1.4.2', description: 'Release', metadata: { commit: 'a1b2c3d' } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      org_id: place.owner.orgId,
      workspace_id: place.wsId,
      environment_id: place.envId,
      version: '1.4.2',
      description: 'Release',
      status: 'pending',
      metadata: { commit: 'a1b2c3d' },
      created_by: { type: 'deploy_token', id },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const deploymentUrl = `${place.envUrl}/deployments/${created.body.id}`;
    const viaHeader = { headers: { 'x-api-key': token } };
    const listed = await server.request('GET', `${place.envUrl}/deployments`, viaHeader);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((d: { id: string }) => d.id)).toEqual([created.body.id]);
    const fetched = await server.request('GET', deploymentUrl, bearer(token));
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);
    const patched = await server.request('PATCH', deploymentUrl, {
      ...viaHeader,
      body: { status: 'in_progress', metadata: { commit: 'a1b2c3d', run: 7 } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ status: 'in_progress', metadata: { commit: 'a1b2c3d', run: 7 } });

    const audit = await auditActions(place.owner, created.body.id);
    expect(audit.map((entry) => entry.action)).toEqual(['deployment.updated', 'deployment.created']);
    expect(audit[0]?.actor).toMatchObject({ type: 'deploy_token', id });
    expect(audit[0]?.metadata).toMatchObject({ status: { from: 'pending', to: 'in_progress' } });
  });

  it('answer 404 for another environment of the workspace, another workspace and another org', async () => {
    const place = await environment();
    const { token } = await deployToken(place);
    const sibling = await environment(place.owner, place.wsId);
    const otherWorkspace = await environment(place.owner);
    const otherOrg = await environment();
    const theirDeployment = await server.request('POST', `${sibling.envUrl}/deployments`, {
      token: place.owner.token,
      body: { version: '1' },
    });
    for (const envUrl of [sibling.envUrl, otherWorkspace.envUrl, otherOrg.envUrl]) {
      for (const [method, url, body] of [
        ['GET', `${envUrl}/deployments`, undefined],
        ['POST', `${envUrl}/deployments`, { version: '2' }],
        ['GET', `${envUrl}/deployments/${theirDeployment.body.id}`, undefined],
        ['PATCH', `${envUrl}/deployments/${theirDeployment.body.id}`, { status: 'failed' }],
      ] as const) {
        const response = await server.request(method, url, { ...bearer(token), body });
        expect(response.status, `${method} ${url}`).toBe(404);
      }
    }
    // Its own environment with another environment's deployment id: 404 too, and nothing changed.
    const crossed = await server.request('PATCH', `${place.envUrl}/deployments/${theirDeployment.body.id}`, {
      ...bearer(token),
      body: { status: 'failed' },
    });
    expect(crossed.status).toBe(404);
    const untouched = await server.request(
      'GET',
      `${sibling.envUrl}/deployments/${theirDeployment.body.id}`,
      {
        token: place.owner.token,
      },
    );
    expect(untouched.body.status).toBe('pending');
  });

  it('answer 403 credential_not_allowed on every route that is not a deployment route', async () => {
    const place = await environment();
    const { token } = await deployToken(place);
    const org = place.owner.orgId;
    for (const [method, url, body] of [
      ['GET', place.envUrl, undefined],
      ['PATCH', place.envUrl, { name: 'x' }],
      ['GET', `/api/v1/orgs/${org}/workspaces`, undefined],
      ['GET', `/api/v1/orgs/${org}/workspaces/${place.wsId}`, undefined],
      ['GET', `/api/v1/orgs/${org}`, undefined],
      ['POST', `/api/v1/orgs/${org}/api-keys`, { name: 'k', scopes: ['read:org'] }],
      ['POST', `${place.envUrl}/deploy-tokens`, { name: 'child' }],
      ['GET', `${place.envUrl}/deploy-tokens`, undefined],
    ] as const) {
      const response = await server.request(method, url, { ...bearer(token), body });
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(response.body.code).toBe('credential_not_allowed');
    }
    // User-level routes that do not list deploy tokens refuse them too.
    for (const [method, url, body] of [
      ['GET', '/api/v1/orgs', undefined],
      ['POST', '/api/v1/auth/introspect', { token }],
    ] as const) {
      const response = await server.request(method, url, { ...bearer(token), body });
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(response.body.code).toBe('credential_not_allowed');
    }
  });

  it('identify themselves at whoami and are described by introspection until revoked', async () => {
    const place = await environment();
    const { id, token } = await deployToken(place);
    const whoami = await server.request('GET', '/api/v1/auth/whoami', bearer(token));
    expect(whoami.status).toBe(200);
    expect(whoami.body.credential).toEqual({ type: 'deploy_token', id });
    expect(whoami.body.user_id).toBe(place.owner.userId);

    const introspect = () =>
      server.request('POST', '/api/v1/auth/introspect', { token: place.owner.token, body: { token } });
    const active = await introspect();
    expect(active.status).toBe(200);
    expect(active.body).toMatchObject({
      active: true,
      token_type: 'deploy_token',
      org_id: place.owner.orgId,
      workspace_id: place.wsId,
      environment_id: place.envId,
      sub: place.owner.userId,
    });
    expect(active.body.scope.split(' ').sort()).toEqual([
      'read:deployments',
      'read:environments',
      'write:deployments',
    ]);
    // Another org's caller learns nothing.
    const stranger = await newUser(server);
    const foreign = await server.request('POST', '/api/v1/auth/introspect', {
      token: stranger.token,
      body: { token },
    });
    expect(foreign.body).toEqual({ active: false });

    await server.request('DELETE', `${place.envUrl}/deploy-tokens/${id}`, { token: place.owner.token });
    expect((await introspect()).body).toEqual({ active: false });
  });

  it('records last_used_at once the batch is flushed', async () => {
    const place = await environment();
    const { id, token } = await deployToken(place);
    expect((await server.request('GET', `${place.envUrl}/deployments`, bearer(token))).status).toBe(200);
    await server.deps.lastUsed.flush();
    const listed = await server.request('GET', `${place.envUrl}/deploy-tokens`, { token: place.owner.token });
    const shown = listed.body.data.find((t: { id: string }) => t.id === id);
    expect(shown.last_used_at).toEqual(expect.any(String));
    expect(Date.now() - Date.parse(shown.last_used_at)).toBeLessThan(60_000);
  });
});

describe('deploy tokens: when they stop', () => {
  it('revocation stops the token at once; revoking again is 204; both audited once', async () => {
    const place = await environment();
    const { id, token } = await deployToken(place);
    const url = `${place.envUrl}/deployments`;
    expect((await server.request('GET', url, bearer(token))).status).toBe(200);
    const revoked = await server.request('DELETE', `${place.envUrl}/deploy-tokens/${id}`, {
      token: place.owner.token,
    });
    expect(revoked.status).toBe(204);
    const after = await server.request('GET', url, bearer(token));
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('invalid_credential');
    expect(
      (await server.request('DELETE', `${place.envUrl}/deploy-tokens/${id}`, { token: place.owner.token }))
        .status,
    ).toBe(204);

    const active = await server.request('GET', `${place.envUrl}/deploy-tokens`, { token: place.owner.token });
    expect(active.body.data).toEqual([]);
    const all = await server.request('GET', `${place.envUrl}/deploy-tokens?include_revoked=true`, {
      token: place.owner.token,
    });
    expect(all.body.data[0]).toMatchObject({ id, revoked_at: expect.any(String) });
    expect((await auditActions(place.owner, id)).map((entry) => entry.action)).toEqual([
      'deploy_token.revoked',
      'deploy_token.created',
    ]);
  });

  it('an expired token answers 401', async () => {
    const place = await environment();
    const { id, token } = await deployToken(place);
    expect((await server.request('GET', `${place.envUrl}/deployments`, bearer(token))).status).toBe(200);
    await server.deps.db
      .updateTable('deploy_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', id)
      .execute();
    server.deps.caches.forget([`key:${id}`]);
    expect((await server.request('GET', `${place.envUrl}/deployments`, bearer(token))).status).toBe(401);
  });

  it("acts within its creator's current role: demoted to viewer it may read but not record", async () => {
    const place = await environment();
    const admin = await colleague(place.owner, 'admin');
    const { token } = await deployToken(place, {}, admin.token);
    const url = `${place.envUrl}/deployments`;
    expect((await server.request('POST', url, { ...bearer(token), body: { version: '1' } })).status).toBe(
      201,
    );
    const demoted = await server.request(
      'PATCH',
      `/api/v1/orgs/${place.owner.orgId}/members/${admin.userId}`,
      {
        token: place.owner.token,
        body: { role: 'viewer' },
      },
    );
    expect(demoted.status).toBe(200);
    const listed = await server.request('GET', url, bearer(token));
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(1);
    const refused = await server.request('POST', url, { ...bearer(token), body: { version: '2' } });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('permission_denied');
  });

  it('stops for good when its creator is removed from the org', async () => {
    const place = await environment();
    const admin = await colleague(place.owner, 'admin');
    const { id, token } = await deployToken(place, {}, admin.token);
    expect((await server.request('GET', `${place.envUrl}/deployments`, bearer(token))).status).toBe(200);
    const removed = await server.request(
      'DELETE',
      `/api/v1/orgs/${place.owner.orgId}/members/${admin.userId}`,
      {
        token: place.owner.token,
      },
    );
    expect(removed.status).toBe(204);
    expect((await server.request('GET', `${place.envUrl}/deployments`, bearer(token))).status).toBe(401);
    const all = await server.request('GET', `${place.envUrl}/deploy-tokens?include_revoked=true`, {
      token: place.owner.token,
    });
    expect(all.body.data.find((t: { id: string }) => t.id === id).revoked_at).toEqual(expect.any(String));
    // Coming back does not revive it.
    await addMember(server, place.owner.orgId, admin.userId, 'admin');
    expect((await server.request('GET', `${place.envUrl}/deployments`, bearer(token))).status).toBe(401);
  });

  it('an archived org stops its deploy tokens with 403 org_archived', async () => {
    const place = await environment();
    const { token } = await deployToken(place);
    const archived = await server.request('POST', `/api/v1/orgs/${place.owner.orgId}/archive`, {
      token: place.owner.token,
    });
    expect(archived.status).toBe(200);
    for (const [method, body] of [
      ['GET', undefined],
      ['POST', { version: '1' }],
    ] as const) {
      const response = await server.request(method, `${place.envUrl}/deployments`, {
        ...bearer(token),
        body,
      });
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('org_archived');
    }
  });

  it('deleting the environment deletes its tokens and deployments', async () => {
    const place = await environment();
    const { id, token } = await deployToken(place);
    await server.request('POST', `${place.envUrl}/deployments`, { ...bearer(token), body: { version: '1' } });
    expect((await server.request('DELETE', place.envUrl, { token: place.owner.token })).status).toBe(204);
    expect((await server.request('GET', `${place.envUrl}/deployments`, bearer(token))).status).toBe(401);
    const rows = await server.deps.db.selectFrom('deploy_tokens').select('id').where('id', '=', id).execute();
    expect(rows).toEqual([]);
    const deployments = await server.deps.db
      .selectFrom('deployments')
      .select('id')
      .where('environment_id', '=', place.envId)
      .execute();
    expect(deployments).toEqual([]);
  });
});

describe('deployments', () => {
  it('records who created them: a user, an API key, a deploy token', async () => {
    const place = await environment();
    const url = `${place.envUrl}/deployments`;
    const byUser = await server.request('POST', url, {
      token: place.owner.token,
      body: { version: ' v1 ', status: 'succeeded' },
    });
    expect(byUser.status).toBe(201);
    expect(byUser.body).toMatchObject({
      version: 'v1',
      status: 'succeeded',
      description: null,
      metadata: {},
      created_by: { type: 'user', id: place.owner.userId },
    });
    const key = await server.request('POST', `/api/v1/orgs/${place.owner.orgId}/api-keys`, {
      token: place.owner.token,
      body: { name: 'ci', scopes: ['write:deployments', 'read:deployments'] },
    });
    const byKey = await server.request('POST', url, {
      headers: { 'x-api-key': key.body.key },
      body: { version: 'v2' },
    });
    expect(byKey.status).toBe(201);
    expect(byKey.body.created_by).toEqual({ type: 'api_key', id: key.body.id });
    // A JWT exchanged for the key records the key too.
    const exchanged = await server.request('POST', '/api/v1/auth/token', {
      body: { api_key: key.body.key, ttl_minutes: 5 },
    });
    expect(exchanged.status).toBe(200);
    const byJwt = await server.request('POST', url, {
      token: exchanged.body.access_token,
      body: { version: 'v3' },
    });
    expect(byJwt.status).toBe(201);
    expect(byJwt.body.created_by).toEqual({ type: 'api_key', id: key.body.id });
    const { id, token } = await deployToken(place);
    const byToken = await server.request('POST', url, { ...bearer(token), body: { version: 'v4' } });
    expect(byToken.body.created_by).toEqual({ type: 'deploy_token', id });
  });

  it('a finished deployment keeps its status (409) but may still be described', async () => {
    const place = await environment();
    const created = await server.request('POST', `${place.envUrl}/deployments`, {
      token: place.owner.token,
      body: { version: '1' },
    });
    const url = `${place.envUrl}/deployments/${created.body.id}`;
    const patch = (body: unknown) => server.request('PATCH', url, { token: place.owner.token, body });
    expect((await patch({ status: 'in_progress' })).status).toBe(200);
    expect((await patch({ status: 'failed' })).body.status).toBe('failed');
    for (const status of ['succeeded', 'pending', 'in_progress', 'cancelled']) {
      const refused = await patch({ status });
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('deployment_finished');
    }
    // Restating the final status changes nothing and is allowed (a retried CI step).
    expect((await patch({ status: 'failed' })).status).toBe(200);
    const described = await patch({ description: 'rolled back', metadata: { reason: 'smoke test' } });
    expect(described.status).toBe(200);
    expect(described.body).toMatchObject({
      status: 'failed',
      description: 'rolled back',
      metadata: { reason: 'smoke test' },
    });
    expect((await patch({ description: null })).body.description).toBeNull();
    expect((await server.request('GET', url, { token: place.owner.token })).body.status).toBe('failed');
  });

  it('validates bodies: version, status, metadata, unknown fields, NUL characters', async () => {
    const place = await environment();
    const url = `${place.envUrl}/deployments`;
    for (const body of [
      {},
      { version: '' },
      { version: '  ' },
      { version: 'x'.repeat(201) },
      { version: '1', status: 'done' },
      { version: '1', metadata: 'text' },
      { version: '1', metadata: [1] },
      { version: '1', created_by: 'me' },
      { version: 1 },
    ]) {
      const response = await server.request('POST', url, { token: place.owner.token, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    for (const body of [{ version: 'a\u0000b' }, { version: '1', metadata: { k: 'x\u0000y' } }]) {
      const response = await server.request('POST', url, { token: place.owner.token, body });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('invalid_input');
    }
    const created = await server.request('POST', url, { token: place.owner.token, body: { version: '1' } });
    for (const body of [{}, { version: '2' }, { status: null }, { metadata: null }]) {
      const response = await server.request('PATCH', `${url}/${created.body.id}`, {
        token: place.owner.token,
        body,
      });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await server.request('GET', `${url}/not-a-uuid`, { token: place.owner.token })).status).toBe(400);
    expect(
      (
        await server.request('GET', `${url}/0190a6f0-0000-7000-8000-000000000000`, {
          token: place.owner.token,
        })
      ).status,
    ).toBe(404);
  });

  it('lists in id order with a cursor, filtered by status', async () => {
    const place = await environment();
    const url = `${place.envUrl}/deployments`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await server.request('POST', url, {
        token: place.owner.token,
        body: { version: `v${i}`, status: i % 2 === 0 ? 'succeeded' : 'pending' },
      });
      ids.push(created.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await server.request('GET', `${url}${query}`, { token: place.owner.token });
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((d: { id: string }) => d.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    const succeeded = await server.request('GET', `${url}?status=succeeded`, { token: place.owner.token });
    expect(succeeded.body.data.map((d: { id: string }) => d.id)).toEqual([ids[0], ids[2], ids[4]]);
    expect((await server.request('GET', `${url}?status=nope`, { token: place.owner.token })).status).toBe(
      400,
    );
    expect((await server.request('GET', `${url}?cursor=garbage`, { token: place.owner.token })).status).toBe(
      400,
    );
  });

  it('viewers read deployments; members record and update them', async () => {
    const place = await environment();
    const url = `${place.envUrl}/deployments`;
    const viewer = await colleague(place.owner, 'viewer');
    const member = await colleague(place.owner, 'member');
    expect((await server.request('GET', url, { token: viewer.token })).status).toBe(200);
    const refused = await server.request('POST', url, { token: viewer.token, body: { version: '1' } });
    expect(refused.status).toBe(403);
    const created = await server.request('POST', url, { token: member.token, body: { version: '1' } });
    expect(created.status).toBe(201);
    expect(created.body.created_by).toEqual({ type: 'user', id: member.userId });
    expect(
      (
        await server.request('PATCH', `${url}/${created.body.id}`, {
          token: viewer.token,
          body: { status: 'succeeded' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await server.request('PATCH', `${url}/${created.body.id}`, {
          token: member.token,
          body: { status: 'succeeded' },
        })
      ).status,
    ).toBe(200);
  });
});
