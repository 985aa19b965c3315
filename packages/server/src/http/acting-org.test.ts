// A token acts in exactly one org (API.md): another org's routes answer 404. A member of that
// other org is told how to act in it (switch-org); anyone else gets the plain 404 and learns nothing.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newUser, tokenFor, useTestServer } from '../../../../test/harness.ts';

const server = useTestServer();
const PLAIN = 'Organization was not found.';

describe('a 404 for an org the caller belongs to but does not act in', () => {
  it('names switch-org to a member; non-members, unknown ids and keys get the plain 404', async () => {
    const jane = await newUser(server, 'jane');
    const created = await server.request('POST', '/api/v1/orgs', {
      token: jane.token,
      body: { name: 'Client Alpha' },
    });
    expect(created.status, created.text).toBe(201);
    const alpha = created.body.id as string;
    const route = `/api/v1/orgs/${alpha}/workspaces`;

    // Twice: once resolved from the database, once from this node's credential cache.
    for (let i = 0; i < 2; i++) {
      const member = await server.request('GET', route, { token: jane.token });
      expect(member.status).toBe(404);
      expect(member.body.code).toBe('not_found');
      expect(member.body.detail).toBe(
        `This token acts in organization ${jane.orgId}, not in ${alpha}: a token acts in exactly one organization. You are a member of ${alpha}: call POST /api/v1/auth/switch-org with {"org_id":"${alpha}"} for tokens that act in it.`,
      );
    }
    // The org route itself and a write alike.
    const patch = await server.request('PATCH', `/api/v1/orgs/${alpha}`, {
      token: jane.token,
      body: { name: 'x' },
    });
    expect(patch.status).toBe(404);
    expect(patch.body.detail).toContain('switch-org');

    // Someone who is not a member: the same answer as for an org that does not exist.
    const outsider = await newUser(server, 'outsider');
    for (const id of [alpha, randomUUID()]) {
      const answer = await server.request('GET', `/api/v1/orgs/${id}/workspaces`, { token: outsider.token });
      expect(answer.status).toBe(404);
      expect(answer.body.detail).toBe(PLAIN);
    }
    // An org Jane does not belong to, or does not exist: plain for her too.
    for (const id of [outsider.orgId, randomUUID()]) {
      const answer = await server.request('GET', `/api/v1/orgs/${id}/workspaces`, { token: jane.token });
      expect(answer.body.detail).toBe(PLAIN);
    }
    // An API key lives in one org and cannot switch: no hint.
    const key = await server.request('POST', `/api/v1/orgs/${jane.orgId}/api-keys`, {
      token: jane.token,
      body: { name: 'k', scopes: ['read:workspaces'] },
    });
    expect(key.status, key.text).toBe(201);
    const byKey = await server.request('GET', route, { headers: { 'x-api-key': key.body.key } });
    expect(byKey.status).toBe(404);
    expect(byKey.body.detail).toBe(PLAIN);

    // Doing what the hint says works.
    const switched = await tokenFor(server, jane, alpha);
    expect((await server.request('GET', route, { token: switched })).status).toBe(200);
  });
});
