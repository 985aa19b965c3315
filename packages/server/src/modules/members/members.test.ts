import { describe, expect, it } from 'vitest';
import { addMember, newUser, onPostgres, tokenFor, useTestServer } from '../../../../../test/harness.ts';

const server = useTestServer();

async function team() {
  const owner = await newUser(server, 'owner');
  const admin = await newUser(server, 'admin');
  const member = await newUser(server, 'member');
  await addMember(server, owner.orgId, admin.userId, 'admin');
  await addMember(server, owner.orgId, member.userId, 'member');
  return {
    owner,
    admin,
    member,
    adminToken: await tokenFor(server, admin, owner.orgId),
    memberToken: await tokenFor(server, member, owner.orgId),
    base: `/api/v1/orgs/${owner.orgId}/members`,
  };
}

describe('members', () => {
  it('lists members with their roles, paginated', async () => {
    const t = await team();
    const all = await server.request('GET', t.base, { token: t.memberToken });
    expect(all.status).toBe(200);
    expect(all.body.data.map((m: { role: string }) => m.role).sort()).toEqual(['admin', 'member', 'owner']);
    expect(all.body.data[0]).toEqual(
      expect.objectContaining({
        user_id: expect.any(String),
        email: expect.any(String),
        joined_at: expect.any(String),
      }),
    );
    const page = await server.request('GET', `${t.base}?limit=2`, { token: t.memberToken });
    const rest = await server.request('GET', `${t.base}?limit=2&cursor=${page.body.next_cursor}`, {
      token: t.memberToken,
    });
    expect([...page.body.data, ...rest.body.data].map((m: { user_id: string }) => m.user_id)).toEqual(
      all.body.data.map((m: { user_id: string }) => m.user_id),
    );
  });

  it('admins change roles below owner; a role change takes effect on the next request', async () => {
    const t = await team();
    const promoted = await server.request('PATCH', `${t.base}/${t.member.userId}`, {
      token: t.adminToken,
      body: { role: 'viewer' },
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('viewer');
    // The member's existing token now carries viewer rights.
    const who = await server.request('GET', '/api/v1/auth/whoami', { token: t.memberToken });
    expect(who.body.role).toBe('viewer');
    const create = await server.request('POST', `/api/v1/orgs/${t.owner.orgId}/workspaces`, {
      token: t.memberToken,
      body: { name: 'x' },
    });
    expect(create.status).toBe(403);
  });

  it('only owners grant or take the owner role', async () => {
    const t = await team();
    const grant = await server.request('PATCH', `${t.base}/${t.member.userId}`, {
      token: t.adminToken,
      body: { role: 'owner' },
    });
    expect(grant.status).toBe(403);
    expect(grant.body.code).toBe('owner_required');
    const demoteOwner = await server.request('PATCH', `${t.base}/${t.owner.userId}`, {
      token: t.adminToken,
      body: { role: 'member' },
    });
    expect(demoteOwner.status).toBe(403);
    const removeOwner = await server.request('DELETE', `${t.base}/${t.owner.userId}`, {
      token: t.adminToken,
    });
    expect(removeOwner.status).toBe(403);
    const byOwner = await server.request('PATCH', `${t.base}/${t.admin.userId}`, {
      token: t.owner.token,
      body: { role: 'owner' },
    });
    expect(byOwner.status).toBe(200);
  });

  it('members cannot manage members', async () => {
    const t = await team();
    const response = await server.request('PATCH', `${t.base}/${t.admin.userId}`, {
      token: t.memberToken,
      body: { role: 'viewer' },
    });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('permission_denied');
  });

  it('the last owner can be neither demoted nor removed', async () => {
    const t = await team();
    const demote = await server.request('PATCH', `${t.base}/${t.owner.userId}`, {
      token: t.owner.token,
      body: { role: 'admin' },
    });
    expect(demote.status).toBe(409);
    expect(demote.body.code).toBe('last_owner');
    const remove = await server.request('DELETE', `${t.base}/${t.owner.userId}`, { token: t.owner.token });
    expect(remove.status).toBe(409);
  });

  it('two owners demoting each other at once leave exactly one owner', async () => {
    const t = await team();
    await server.request('PATCH', `${t.base}/${t.admin.userId}`, {
      token: t.owner.token,
      body: { role: 'owner' },
    });
    const secondOwnerToken = await tokenFor(server, t.admin, t.owner.orgId);
    const results = await Promise.all([
      server.request('PATCH', `${t.base}/${t.admin.userId}`, {
        token: t.owner.token,
        body: { role: 'member' },
      }),
      server.request('PATCH', `${t.base}/${t.owner.userId}`, {
        token: secondOwnerToken,
        body: { role: 'member' },
      }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    // One wins; the other either meets the last-owner rule or has lost its owner rights meanwhile.
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const owners = await server.deps.db
      .selectFrom('memberships')
      .select('user_id')
      .where('org_id', '=', t.owner.orgId)
      .where('role', '=', 'owner')
      .execute();
    expect(owners).toHaveLength(1);
  });

  it('removal ends access at once: the session in that org is revoked, other tokens get 404', async () => {
    const t = await team();
    expect(
      (await server.request('DELETE', `${t.base}/${t.member.userId}`, { token: t.adminToken })).status,
    ).toBe(204);
    const after = await server.request('GET', `/api/v1/orgs/${t.owner.orgId}/workspaces`, {
      token: t.memberToken,
    });
    expect(after.status).toBe(401);
    // A token of the user's own org still works, and the old org answers 404 to it.
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: t.member.token })).status).toBe(200);
    const foreign = await server.request('GET', `/api/v1/orgs/${t.owner.orgId}/workspaces`, {
      token: t.member.token,
    });
    expect(foreign.status).toBe(404);
    const switchBack = await server.request('POST', '/api/v1/auth/switch-org', {
      token: t.member.token,
      body: { org_id: t.owner.orgId },
    });
    expect(switchBack.status).toBe(404);
    expect(
      (await server.request('DELETE', `${t.base}/${t.member.userId}`, { token: t.adminToken })).status,
    ).toBe(404);
    const log = await server.request(
      'GET',
      `/api/v1/orgs/${t.owner.orgId}/audit-logs?action=member.removed`,
      { token: t.owner.token },
    );
    expect(log.body.data[0]).toMatchObject({
      target: { type: 'user', id: t.member.userId },
      actor: { id: t.admin.userId },
    });
  });

  it('any member may leave; the last owner may not', async () => {
    const t = await team();
    const left = await server.request('DELETE', `${t.base}/${t.member.userId}`, { token: t.memberToken });
    expect(left.status).toBe(204);
    const log = await server.request('GET', `/api/v1/orgs/${t.owner.orgId}/audit-logs?action=member.left`, {
      token: t.owner.token,
    });
    expect(log.body.data[0].actor.id).toBe(t.member.userId);
    const ownerLeaves = await server.request('DELETE', `${t.base}/${t.owner.userId}`, {
      token: t.owner.token,
    });
    expect(ownerLeaves.status).toBe(409);
  });

  it('viewers cannot remove others', async () => {
    const t = await team();
    const viewer = await newUser(server);
    await addMember(server, t.owner.orgId, viewer.userId, 'viewer');
    const token = await tokenFor(server, viewer, t.owner.orgId);
    const response = await server.request('DELETE', `${t.base}/${t.member.userId}`, { token });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('permission_denied');
  });

  // Needs a second connection to hold the org lock while the request waits: PostgreSQL only
  // (embedded PGlite has one connection and runs these changes one after another anyway).
  it.runIf(onPostgres)(
    'a caller demoted while their request waited for the org lock acts with the new role',
    async () => {
      const t = await team();
      await server.request('PATCH', `${t.base}/${t.admin.userId}`, {
        token: t.owner.token,
        body: { role: 'owner' },
      });
      const secondOwner = await tokenFor(server, t.admin, t.owner.orgId);
      let pending: ReturnType<typeof server.request> | undefined;
      await server.deps.db.transaction().execute(async (trx) => {
        await trx
          .selectFrom('organizations')
          .select('id')
          .where('id', '=', t.owner.orgId)
          .forUpdate()
          .execute();
        pending = server.request('PATCH', `${t.base}/${t.member.userId}`, {
          token: secondOwner,
          body: { role: 'owner' },
        });
        await new Promise((r) => setTimeout(r, 300)); // the request is now queued behind our lock
        await trx
          .updateTable('memberships')
          .set({ role: 'member' })
          .where('org_id', '=', t.owner.orgId)
          .where('user_id', '=', t.admin.userId)
          .execute();
      });
      const response = await pending!;
      expect(response.status).toBe(403);
      const member = await server.deps.db
        .selectFrom('memberships')
        .select('role')
        .where('org_id', '=', t.owner.orgId)
        .where('user_id', '=', t.member.userId)
        .executeTakeFirstOrThrow();
      expect(member.role).toBe('member');
    },
  );

  it('answers 404 for users who are not members', async () => {
    const t = await team();
    const stranger = await newUser(server);
    expect(
      (
        await server.request('PATCH', `${t.base}/${stranger.userId}`, {
          token: t.owner.token,
          body: { role: 'admin' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await server.request('GET', `${t.base}/${stranger.userId}`, { token: t.owner.token })).status,
    ).toBe(404);
  });
});
