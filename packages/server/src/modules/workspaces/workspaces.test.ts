import { describe, expect, it } from 'vitest';
import { addMember, newUser, tokenFor, useTestServer } from '../../../../../test/harness.ts';

const server = useTestServer();

describe('workspaces', () => {
  it('create, get, list, update, delete — with audit entries', async () => {
    const user = await newUser(server);
    const base = `/api/v1/orgs/${user.orgId}/workspaces`;
    const created = await server.request('POST', base, {
      token: user.token,
      body: { name: '  Production ', description: 'Live' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Production', description: 'Live', org_id: user.orgId });
    const id = created.body.id;
    expect((await server.request('GET', `${base}/${id}`, { token: user.token })).body.name).toBe(
      'Production',
    );
    const patched = await server.request('PATCH', `${base}/${id}`, {
      token: user.token,
      body: { description: null },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.description).toBeNull();
    expect((await server.request('DELETE', `${base}/${id}`, { token: user.token })).status).toBe(204);
    expect((await server.request('GET', `${base}/${id}`, { token: user.token })).status).toBe(404);
    const log = await server.request('GET', `/api/v1/orgs/${user.orgId}/audit-logs?target_id=${id}`, {
      token: user.token,
    });
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
      'workspace.deleted',
      'workspace.updated',
      'workspace.created',
    ]);
    expect(log.body.data[0]).toMatchObject({
      actor: { id: user.userId, email: user.email },
      request_id: expect.any(String),
    });
  });

  it('paginates with a cursor and never repeats or skips', async () => {
    const user = await newUser(server);
    const base = `/api/v1/orgs/${user.orgId}/workspaces`;
    for (let i = 0; i < 7; i++)
      await server.request('POST', base, { token: user.token, body: { name: `ws ${i}` } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = cursor ? `${base}?limit=3&cursor=${cursor}` : `${base}?limit=3`;
      const page = await server.request('GET', url, { token: user.token });
      seen.push(...page.body.data.map((w: { name: string }) => w.name));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['ws 0', 'ws 1', 'ws 2', 'ws 3', 'ws 4', 'ws 5', 'ws 6']);
    const defaults = await server.request('GET', base, { token: user.token });
    expect(defaults.body.data).toHaveLength(7);
  });

  it('members read but cannot create or delete; viewers read', async () => {
    const owner = await newUser(server);
    const member = await newUser(server);
    const viewer = await newUser(server);
    await addMember(server, owner.orgId, member.userId, 'member');
    await addMember(server, owner.orgId, viewer.userId, 'viewer');
    const base = `/api/v1/orgs/${owner.orgId}/workspaces`;
    const ws = await server.request('POST', base, { token: owner.token, body: { name: 'W' } });
    const memberToken = await tokenFor(server, member, owner.orgId);
    const viewerToken = await tokenFor(server, viewer, owner.orgId);
    expect((await server.request('GET', base, { token: viewerToken })).status).toBe(200);
    expect((await server.request('POST', base, { token: memberToken, body: { name: 'X' } })).status).toBe(
      403,
    );
    expect((await server.request('DELETE', `${base}/${ws.body.id}`, { token: memberToken })).status).toBe(
      403,
    );
    expect(
      (await server.request('PATCH', `${base}/${ws.body.id}`, { token: viewerToken, body: { name: 'Y' } }))
        .status,
    ).toBe(403);
  });

  it('validates names', async () => {
    const user = await newUser(server);
    const base = `/api/v1/orgs/${user.orgId}/workspaces`;
    for (const body of [
      {},
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(201) },
      { name: 3 },
      { name: 'ok', extra: true },
    ]) {
      const response = await server.request('POST', base, { token: user.token, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
  });
});
