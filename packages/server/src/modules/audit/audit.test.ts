import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { addMember, newUser, tokenFor, useTestServer } from '../../../../../test/harness.ts';

const server = useTestServer();

describe('audit log', () => {
  it('records actor, target, IP, request id and user agent for each change', async () => {
    const user = await newUser(server);
    const created = await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces`, {
      token: user.token,
      body: { name: 'Audited' },
      headers: { 'x-request-id': 'req-audit-1', 'user-agent': 'orgplane-test/1.0' },
      ip: '203.0.113.9',
    });
    const log = await server.request(
      'GET',
      `/api/v1/orgs/${user.orgId}/audit-logs?action=workspace.created`,
      { token: user.token },
    );
    expect(log.status).toBe(200);
    expect(log.body.data).toEqual([
      expect.objectContaining({
        action: 'workspace.created',
        actor: { type: 'user', id: user.userId, email: user.email },
        target: { type: 'workspace', id: created.body.id },
        ip: '203.0.113.9',
        request_id: 'req-audit-1',
        user_agent: 'orgplane-test/1.0',
        metadata: { name: 'Audited' },
      }),
    ]);
  });

  it('a failed change leaves no audit entry (same transaction)', async () => {
    const user = await newUser(server);
    const body = { name: 'E', slug: 'dup', tier: 'dev', deployment_host: 'aws' };
    const ws = await server.request('POST', `/api/v1/orgs/${user.orgId}/workspaces`, {
      token: user.token,
      body: { name: 'W' },
    });
    const base = `/api/v1/orgs/${user.orgId}/workspaces/${ws.body.id}/environments`;
    await server.request('POST', base, { token: user.token, body });
    expect((await server.request('POST', base, { token: user.token, body })).status).toBe(409);
    const log = await server.request(
      'GET',
      `/api/v1/orgs/${user.orgId}/audit-logs?action=environment.created`,
      { token: user.token },
    );
    expect(log.body.data).toHaveLength(1);
  });

  it('filters by action family, actor, target and time, newest first, with a cursor', async () => {
    const owner = await newUser(server);
    const admin = await newUser(server);
    await addMember(server, owner.orgId, admin.userId, 'admin');
    const adminToken = await tokenFor(server, admin, owner.orgId);
    const start = new Date().toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const token = i % 2 ? adminToken : owner.token;
      ids.push(
        (
          await server.request('POST', `/api/v1/orgs/${owner.orgId}/workspaces`, {
            token,
            body: { name: `w${i}` },
          })
        ).body.id,
      );
    }
    const base = `/api/v1/orgs/${owner.orgId}/audit-logs`;
    const family = await server.request('GET', `${base}?action=workspace.*&since=${start}`, {
      token: owner.token,
    });
    expect(family.body.data.map((e: { target: { id: string } }) => e.target.id)).toEqual([...ids].reverse());
    const byAdmin = await server.request('GET', `${base}?actor_id=${admin.userId}&action=workspace.created`, {
      token: owner.token,
    });
    expect(byAdmin.body.data).toHaveLength(2);
    const byTarget = await server.request('GET', `${base}?target_type=workspace&target_id=${ids[2]}`, {
      token: owner.token,
    });
    expect(byTarget.body.data).toHaveLength(1);
    const future = await server.request(
      'GET',
      `${base}?since=${new Date(Date.now() + 60_000).toISOString()}`,
      { token: owner.token },
    );
    expect(future.body.data).toHaveLength(0);
    const before = await server.request('GET', `${base}?until=${start}&action=workspace.*`, {
      token: owner.token,
    });
    expect(before.body.data).toHaveLength(0);

    const page1 = await server.request('GET', `${base}?action=workspace.*&limit=2`, { token: owner.token });
    const page2 = await server.request(
      'GET',
      `${base}?action=workspace.*&limit=2&cursor=${page1.body.next_cursor}`,
      { token: owner.token },
    );
    const page3 = await server.request(
      'GET',
      `${base}?action=workspace.*&limit=2&cursor=${page2.body.next_cursor}`,
      { token: owner.token },
    );
    const paged = [...page1.body.data, ...page2.body.data, ...page3.body.data].map(
      (e: { target: { id: string } }) => e.target.id,
    );
    expect(paged).toEqual([...ids].reverse());
    expect(page3.body.next_cursor).toBeNull();

    const bad = await server.request('GET', `${base}?since=yesterday`, { token: owner.token });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('query.since');
    // A literal "%" or "_" in an action filter matches itself, not anything.
    const wildcard = await server.request('GET', `${base}?action=${encodeURIComponent('%.*')}`, {
      token: owner.token,
    });
    expect(wildcard.body.data).toHaveLength(0);
  });

  it('accepts leap-second instants and refuses instants outside years 1-9999', async () => {
    const user = await newUser(server);
    const base = `/api/v1/orgs/${user.orgId}/audit-logs`;
    const leap = await server.request('GET', `${base}?since=${encodeURIComponent('2016-12-31T23:59:60Z')}`, {
      token: user.token,
    });
    expect(leap.status).toBe(200);
    const overflow = await server.request(
      'GET',
      `${base}?until=${encodeURIComponent('9999-12-31T23:59:59-23:59')}`,
      {
        token: user.token,
      },
    );
    expect(overflow.status).toBe(400);
    expect(overflow.body.errors[0].path).toBe('query.until');
  });

  it('is append-only: the database refuses updates and deletes', async () => {
    const user = await newUser(server);
    const db = server.deps.db;
    await expect(
      db.updateTable('audit_logs').set({ action: 'forged' }).where('org_id', '=', user.orgId).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_logs').where('org_id', '=', user.orgId).execute()).rejects.toThrow(
      /append-only/,
    );
    // Purging a different org does not unlock this one.
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('orgplane.purging_org', ${crypto.randomUUID()}, true)`.execute(trx);
        await trx.deleteFrom('audit_logs').where('org_id', '=', user.orgId).execute();
      }),
    ).rejects.toThrow(/append-only/);
  });

  it('is readable by viewers of the org and by no one else', async () => {
    const owner = await newUser(server);
    const viewer = await newUser(server);
    const stranger = await newUser(server);
    await addMember(server, owner.orgId, viewer.userId, 'viewer');
    const base = `/api/v1/orgs/${owner.orgId}/audit-logs`;
    expect(
      (await server.request('GET', base, { token: await tokenFor(server, viewer, owner.orgId) })).status,
    ).toBe(200);
    expect((await server.request('GET', base, { token: stranger.token })).status).toBe(404);
    expect((await server.request('GET', base)).status).toBe(401);
  });
});
