import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { addMember, newUser, type TestUser, tokenFor, useTestServer } from '../../../../../test/harness.ts';
import { sha256Hex } from '../../platform/crypto.ts';
import { loggerOptions } from '../../platform/logger.ts';

const logLines: string[] = [];
const server = useTestServer({}, { logDestination: { write: (line: string) => logLines.push(line) } });

const SECRET_FORMAT = /^fl_ocs_[0-9A-Za-z]{49}$/;
const UNKNOWN_ID = '0190a6f0-0000-7000-8000-000000000000';

const clientsOf = (user: { orgId: string }) => `/api/v1/orgs/${user.orgId}/oauth-clients`;

const CONFIDENTIAL = {
  name: 'Acme dashboard',
  type: 'confidential',
  redirect_uris: ['https://dashboard.example.com/oauth/callback'],
  scopes: ['openid', 'email', 'read:workspaces'],
};
const PUBLIC = {
  name: 'Acme CLI',
  type: 'public',
  redirect_uris: ['http://127.0.0.1:8976/callback'],
  scopes: ['openid', 'offline_access', 'read:org'],
};

async function create(user: { orgId: string; token: string }, body: Record<string, unknown> = CONFIDENTIAL) {
  return server.request('POST', clientsOf(user), { token: user.token, body });
}

async function clientOf(
  user: { orgId: string; token: string },
  body: Record<string, unknown> = CONFIDENTIAL,
) {
  const created = await create(user, body);
  if (created.status !== 201) throw new Error(`client creation failed: ${created.status} ${created.text}`);
  return created.body as { client_id: string; client_secret?: string };
}

async function rowOf(clientId: string) {
  return server.deps.db
    .selectFrom('oauth_clients')
    .selectAll()
    .where('id', '=', clientId)
    .executeTakeFirstOrThrow();
}

async function auditActions(user: TestUser, targetId: string) {
  const log = await server.request('GET', `/api/v1/orgs/${user.orgId}/audit-logs?target_id=${targetId}`, {
    token: user.token,
  });
  expect(log.status).toBe(200);
  return log;
}

/** A member of `owner`'s org with `role`, and their token in it. */
async function colleague(owner: TestUser, role: 'admin' | 'member' | 'viewer') {
  const user = await newUser(server, role);
  await addMember(server, owner.orgId, user.userId, role);
  return { ...user, orgId: owner.orgId, token: await tokenFor(server, user, owner.orgId) };
}

describe('OAuth clients: registration', () => {
  it('registers a confidential client with an fl_ocs_ secret shown once and stored as its SHA-256', async () => {
    const user = await newUser(server);
    const created = await create(user, { ...CONFIDENTIAL, name: '  Acme dashboard ', description: 'BI' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      client_id: expect.any(String),
      client_secret: expect.stringMatching(SECRET_FORMAT),
      org_id: user.orgId,
      name: 'Acme dashboard',
      description: 'BI',
      type: 'confidential',
      redirect_uris: CONFIDENTIAL.redirect_uris,
      scopes: CONFIDENTIAL.scopes,
      secret_start: created.body.client_secret.slice(0, 'fl_ocs_'.length + 8),
      created_by: { user_id: user.userId },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const { client_id: clientId, client_secret: secret } = created.body;

    const row = await rowOf(clientId);
    expect(row).toMatchObject({
      org_id: user.orgId,
      id: clientId,
      type: 'confidential',
      secret_hash: sha256Hex(secret),
      created_by_user_id: user.userId,
    });
    expect(row.secret_hash).not.toContain(secret);

    // Never again: not in GET, not in the list, not in the audit log.
    const got = await server.request('GET', `${clientsOf(user)}/${clientId}`, { token: user.token });
    expect(got.status).toBe(200);
    const { client_secret: _shownOnce, ...withoutSecret } = created.body;
    expect(got.body).toEqual(withoutSecret);
    const list = await server.request('GET', clientsOf(user), { token: user.token });
    expect(list.body).toEqual({ data: [withoutSecret], next_cursor: null });
    const log = await auditActions(user, clientId);
    for (const response of [got, list, log]) {
      expect(response.text).not.toContain(secret);
      expect(response.text).not.toContain(row.secret_hash);
    }
    expect(log.body.data).toHaveLength(1);
    expect(log.body.data[0]).toMatchObject({
      action: 'oauth_client.created',
      actor: { id: user.userId, email: user.email },
      metadata: {
        name: 'Acme dashboard',
        type: 'confidential',
        redirect_uris: CONFIDENTIAL.redirect_uris,
        scopes: CONFIDENTIAL.scopes,
      },
    });
  });

  it('registers a public client without any secret', async () => {
    const user = await newUser(server);
    const created = await create(user, PUBLIC);
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('client_secret');
    expect(created.body).toMatchObject({
      type: 'public',
      description: null,
      secret_start: null,
      redirect_uris: PUBLIC.redirect_uris,
      scopes: PUBLIC.scopes,
    });
    const row = await rowOf(created.body.client_id);
    expect(row.secret_hash).toBeNull();
    expect(row.secret_start).toBeNull();
  });

  it('keeps redirect URIs exactly as written (no normalisation)', async () => {
    const user = await newUser(server);
    const uris = [
      'https://App.Example.com:443/a/../Callback?x=1&y=%2F',
      'https://app.example.com',
      'https://app.example.com/',
    ];
    const created = await create(user, { ...PUBLIC, redirect_uris: uris });
    expect(created.status, created.text).toBe(201);
    expect(created.body.redirect_uris).toEqual(uris);
    expect((await rowOf(created.body.client_id)).redirect_uris).toEqual(uris);
  });
});

describe('OAuth clients: secret rotation', () => {
  it('replaces the secret: the old hash is gone, the new secret is shown once', async () => {
    const user = await newUser(server);
    const { client_id: clientId, client_secret: first } = await clientOf(user);
    const before = await rowOf(clientId);
    const rotated = await server.request('POST', `${clientsOf(user)}/${clientId}/rotate-secret`, {
      token: user.token,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({
      client_id: clientId,
      client_secret: expect.stringMatching(SECRET_FORMAT),
    });
    expect(rotated.body.client_secret).not.toBe(first);
    const after = await rowOf(clientId);
    expect(after.secret_hash).toBe(sha256Hex(rotated.body.client_secret));
    expect(after.secret_hash).not.toBe(before.secret_hash);
    expect(after.secret_start).toBe(rotated.body.client_secret.slice(0, 'fl_ocs_'.length + 8));
    expect(after.updated_at.getTime()).toBeGreaterThanOrEqual(before.updated_at.getTime());
    const left = await server.deps.db
      .selectFrom('oauth_clients')
      .select('id')
      .where('secret_hash', '=', sha256Hex(first as string))
      .execute();
    expect(left).toEqual([]);

    const got = await server.request('GET', `${clientsOf(user)}/${clientId}`, { token: user.token });
    expect(got.body.secret_start).toBe(after.secret_start);
    expect(got.text).not.toContain(rotated.body.client_secret);

    const log = await auditActions(user, clientId);
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
      'oauth_client.secret_rotated',
      'oauth_client.created',
    ]);
    expect(log.text).not.toContain(rotated.body.client_secret);
  });

  it('answers 409 for a public client and 404 for an unknown one', async () => {
    const user = await newUser(server);
    const { client_id: clientId } = await clientOf(user, PUBLIC);
    const rotated = await server.request('POST', `${clientsOf(user)}/${clientId}/rotate-secret`, {
      token: user.token,
    });
    expect(rotated.status).toBe(409);
    expect(rotated.body.code).toBe('public_client');
    expect((await rowOf(clientId)).secret_hash).toBeNull();
    const unknown = await server.request('POST', `${clientsOf(user)}/${UNKNOWN_ID}/rotate-secret`, {
      token: user.token,
    });
    expect(unknown.status).toBe(404);
  });
});

describe('OAuth clients: list, update, delete', () => {
  it('paginates with a cursor, never repeating or skipping, and shows only the org’s clients', async () => {
    const user = await newUser(server);
    const other = await newUser(server);
    await clientOf(other, { ...PUBLIC, name: 'not listed' });
    for (let i = 0; i < 7; i++) await clientOf(user, { ...PUBLIC, name: `client ${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = cursor
        ? `${clientsOf(user)}?limit=3&cursor=${cursor}`
        : `${clientsOf(user)}?limit=3`;
      const page = await server.request('GET', url, { token: user.token });
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.data.map((c: { name: string }) => c.name));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([
      'client 0',
      'client 1',
      'client 2',
      'client 3',
      'client 4',
      'client 5',
      'client 6',
    ]);
    const defaults = await server.request('GET', clientsOf(user), { token: user.token });
    expect(defaults.body.data).toHaveLength(7);
    expect(defaults.body.next_cursor).toBeNull();
    for (const query of ['cursor=garbage', 'limit=0', 'limit=101', 'limit=x']) {
      const response = await server.request('GET', `${clientsOf(user)}?${query}`, { token: user.token });
      expect(response.status, query).toBe(400);
    }
  });

  it('updates name, description, redirect URIs and scopes, but never the type', async () => {
    const user = await newUser(server);
    const { client_id: clientId } = await clientOf(user, { ...CONFIDENTIAL, description: 'first' });
    const url = `${clientsOf(user)}/${clientId}`;
    const patched = await server.request('PATCH', url, {
      token: user.token,
      body: {
        name: ' Renamed ',
        description: null,
        redirect_uris: ['https://new.example.com/cb', 'http://localhost:3000/cb'],
        scopes: ['openid', 'profile'],
      },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({
      client_id: clientId,
      name: 'Renamed',
      description: null,
      type: 'confidential',
      redirect_uris: ['https://new.example.com/cb', 'http://localhost:3000/cb'],
      scopes: ['openid', 'profile'],
    });
    expect(patched.body).not.toHaveProperty('client_secret');
    expect((await server.request('GET', url, { token: user.token })).body).toEqual(patched.body);

    const onlyName = await server.request('PATCH', url, { token: user.token, body: { name: 'Again' } });
    expect(onlyName.body).toMatchObject({ name: 'Again', scopes: ['openid', 'profile'] });

    for (const body of [
      {},
      { type: 'public' },
      { client_secret: 'fl_ocs_x' },
      { name: '' },
      { redirect_uris: [] },
      { redirect_uris: ['http://app.example.com/cb'] },
      { scopes: [] },
      { scopes: ['nope'] },
    ]) {
      const response = await server.request('PATCH', url, { token: user.token, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await rowOf(clientId)).type).toBe('confidential');

    const unknown = await server.request('PATCH', `${clientsOf(user)}/${UNKNOWN_ID}`, {
      token: user.token,
      body: { name: 'x' },
    });
    expect(unknown.status).toBe(404);

    const log = await auditActions(user, clientId);
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
      'oauth_client.updated',
      'oauth_client.updated',
      'oauth_client.created',
    ]);
    expect(log.body.data[1].metadata).toEqual({
      changed: ['name', 'description', 'redirect_uris', 'scopes'],
      redirect_uris: ['https://new.example.com/cb', 'http://localhost:3000/cb'],
      scopes: ['openid', 'profile'],
    });
  });

  it('deletes a client for good: then 404 everywhere, and the deletion is audited', async () => {
    const user = await newUser(server);
    const { client_id: clientId } = await clientOf(user);
    const url = `${clientsOf(user)}/${clientId}`;
    expect((await server.request('DELETE', url, { token: user.token })).status).toBe(204);
    expect((await server.request('GET', url, { token: user.token })).status).toBe(404);
    expect((await server.request('DELETE', url, { token: user.token })).status).toBe(404);
    expect((await server.request('PATCH', url, { token: user.token, body: { name: 'back' } })).status).toBe(
      404,
    );
    expect((await server.request('POST', `${url}/rotate-secret`, { token: user.token })).status).toBe(404);
    expect(
      await server.deps.db.selectFrom('oauth_clients').select('id').where('id', '=', clientId).execute(),
    ).toEqual([]);
    const log = await auditActions(user, clientId);
    expect(log.body.data.map((e: { action: string }) => e.action)).toEqual([
      'oauth_client.deleted',
      'oauth_client.created',
    ]);
    expect(log.body.data[0].metadata).toEqual({ name: CONFIDENTIAL.name, type: 'confidential' });
  });
});

describe('OAuth clients: who may', () => {
  it('viewers and members get 403 on every route; admins manage clients', async () => {
    const owner = await newUser(server);
    const { client_id: clientId } = await clientOf(owner);
    const url = `${clientsOf(owner)}/${clientId}`;
    const routes = [
      ['POST', clientsOf(owner), CONFIDENTIAL],
      ['GET', clientsOf(owner), undefined],
      ['GET', url, undefined],
      ['PATCH', url, { name: 'x' }],
      ['DELETE', url, undefined],
      ['POST', `${url}/rotate-secret`, undefined],
    ] as const;
    for (const role of ['viewer', 'member'] as const) {
      const user = await colleague(owner, role);
      for (const [method, path, body] of routes) {
        const response = await server.request(method, path, { token: user.token, body });
        expect(response.status, `${role} ${method} ${path}`).toBe(403);
        expect(response.body.code).toBe('permission_denied');
      }
    }
    const admin = await colleague(owner, 'admin');
    expect((await server.request('GET', url, { token: admin.token })).status).toBe(200);
    expect((await server.request('GET', clientsOf(owner), { token: admin.token })).status).toBe(200);
    const created = await create(admin, PUBLIC);
    expect(created.status).toBe(201);
    expect(created.body.created_by).toEqual({ user_id: admin.userId });
    expect(
      (await server.request('PATCH', url, { token: admin.token, body: { name: 'by admin' } })).status,
    ).toBe(200);
    expect((await server.request('POST', `${url}/rotate-secret`, { token: admin.token })).status).toBe(200);
    expect((await server.request('DELETE', url, { token: admin.token })).status).toBe(204);
    // Nothing was changed by the refused calls.
    const log = await auditActions(owner, clientId);
    expect(
      log.body.data.map((e: { action: string; actor: { id: string } }) => [e.action, e.actor.id]),
    ).toEqual([
      ['oauth_client.deleted', admin.userId],
      ['oauth_client.secret_rotated', admin.userId],
      ['oauth_client.updated', admin.userId],
      ['oauth_client.created', owner.userId],
    ]);
  });

  it('answers 401 without a credential', async () => {
    const owner = await newUser(server);
    const { client_id: clientId } = await clientOf(owner);
    for (const [method, path] of [
      ['POST', clientsOf(owner)],
      ['GET', clientsOf(owner)],
      ['GET', `${clientsOf(owner)}/${clientId}`],
      ['PATCH', `${clientsOf(owner)}/${clientId}`],
      ['DELETE', `${clientsOf(owner)}/${clientId}`],
      ['POST', `${clientsOf(owner)}/${clientId}/rotate-secret`],
    ] as const) {
      const response = await server.request(method, path, {
        body: method === 'POST' ? CONFIDENTIAL : undefined,
      });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
  });

  it("answers 404 for another org's client, from either org's path", async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    const { client_id: clientId } = await clientOf(a);
    const before = await rowOf(clientId);
    for (const path of [`${clientsOf(b)}/${clientId}`, `${clientsOf(a)}/${clientId}`]) {
      for (const [method, suffix, body] of [
        ['GET', '', undefined],
        ['PATCH', '', { name: 'stolen' }],
        ['DELETE', '', undefined],
        ['POST', '/rotate-secret', undefined],
      ] as const) {
        const response = await server.request(method, `${path}${suffix}`, { token: b.token, body });
        expect(response.status, `${method} ${path}${suffix}`).toBe(404);
        expect(response.text).not.toContain(before.name);
      }
    }
    expect((await server.request('POST', clientsOf(a), { token: b.token, body: PUBLIC })).status).toBe(404);
    expect((await server.request('GET', clientsOf(b), { token: b.token })).body.data).toEqual([]);
    expect(await rowOf(clientId)).toEqual(before);
  });

  it('an API key with write:oauth_clients manages clients; one without it gets 403', async () => {
    const owner = await newUser(server);
    const keyOf = async (scopes: string[]) => {
      const created = await server.request('POST', `/api/v1/orgs/${owner.orgId}/api-keys`, {
        token: owner.token,
        body: { name: 'oauth admin', scopes },
      });
      expect(created.status, created.text).toBe(201);
      return { headers: { 'x-api-key': created.body.key as string } };
    };
    const writer = await keyOf(['write:oauth_clients', 'read:oauth_clients']);
    const created = await server.request('POST', clientsOf(owner), { ...writer, body: CONFIDENTIAL });
    expect(created.status, created.text).toBe(201);
    expect(created.body.client_secret).toMatch(SECRET_FORMAT);
    expect(created.body.created_by).toEqual({ user_id: owner.userId });
    const url = `${clientsOf(owner)}/${created.body.client_id}`;
    expect((await server.request('GET', url, writer)).status).toBe(200);
    expect((await server.request('POST', `${url}/rotate-secret`, writer)).status).toBe(200);

    const reader = await keyOf(['read:oauth_clients']);
    expect((await server.request('GET', clientsOf(owner), reader)).status).toBe(200);
    const refused = await server.request('POST', clientsOf(owner), { ...reader, body: PUBLIC });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('permission_denied');
    const unrelated = await keyOf(['read:org']);
    expect((await server.request('GET', clientsOf(owner), unrelated)).status).toBe(403);

    const log = await auditActions(owner, created.body.client_id);
    expect(
      log.body.data.map((e: { action: string; actor: { type: string } }) => [e.action, e.actor.type]),
    ).toEqual([
      ['oauth_client.secret_rotated', 'api_key'],
      ['oauth_client.created', 'api_key'],
    ]);
  });

  it('the catalogue offers the new scopes; roles hold them as documented', async () => {
    const catalogue = await server.request('GET', '/api/v1/scopes');
    expect(catalogue.body.scopes).toEqual(
      expect.arrayContaining(['read:oauth_clients', 'write:oauth_clients']),
    );
    const owner = await newUser(server);
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: owner.token });
    expect(whoami.body.scopes).toEqual(expect.arrayContaining(['read:oauth_clients', 'write:oauth_clients']));
  });
});

describe('OAuth clients: a client secret is no API credential', () => {
  it('answers 401 as X-API-Key or Bearer, and introspection says active:false', async () => {
    const owner = await newUser(server);
    const { client_id: clientId, client_secret: secret } = await clientOf(owner);
    const asSecret = secret as string;
    for (const [method, path] of [
      ['GET', '/api/v1/auth/whoami'],
      ['GET', `/api/v1/orgs/${owner.orgId}`],
      ['GET', clientsOf(owner)],
      ['GET', `${clientsOf(owner)}/${clientId}`],
    ] as const) {
      const bearer = await server.request(method, path, { token: asSecret });
      expect(bearer.status, `Bearer ${method} ${path}`).toBe(401);
      expect(bearer.body.code).toBe('invalid_credential');
      const apiKey = await server.request(method, path, { headers: { 'x-api-key': asSecret } });
      expect(apiKey.status, `X-API-Key ${method} ${path}`).toBe(401);
      expect(apiKey.body.code).toBe('invalid_credential');
    }
    // Twice: the second time nothing may be answered from a cache either.
    for (let i = 0; i < 2; i++) {
      const described = await server.request('POST', '/api/v1/auth/introspect', {
        token: owner.token,
        body: { token: asSecret },
      });
      expect(described.status).toBe(200);
      expect(described.body).toEqual({ active: false });
    }
    const rotated = await server.request('POST', `${clientsOf(owner)}/${clientId}/rotate-secret`, {
      token: owner.token,
    });
    const described = await server.request('POST', '/api/v1/auth/introspect', {
      token: owner.token,
      body: { token: rotated.body.client_secret },
    });
    expect(described.body).toEqual({ active: false });
  });

  it('never writes a client secret to the log', async () => {
    const owner = await newUser(server);
    const { client_id: clientId, client_secret: secret } = await clientOf(owner);
    const rotated = await server.request('POST', `${clientsOf(owner)}/${clientId}/rotate-secret`, {
      token: owner.token,
    });
    await server.request('GET', `${clientsOf(owner)}/${clientId}`, { token: secret });
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(secret);
      expect(line).not.toContain(rotated.body.client_secret);
    }
    // And a body logged on purpose has its client_secret redacted.
    const lines: string[] = [];
    const logger = pino(
      loggerOptions('info'),
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    logger.info({ body: { client_secret: secret } }, 'created');
    expect(lines.join('')).not.toContain(secret);
    expect(lines.join('')).toContain('[redacted]');
  });
});

describe('OAuth clients: validation', () => {
  const invalid: [string, Record<string, unknown>, string, string][] = [
    [
      'http for a non-loopback host',
      { redirect_uris: ['http://app.example.com/cb'] },
      'body.redirect_uris.0',
      'https://',
    ],
    ['http for 127.0.0.2', { redirect_uris: ['http://127.0.0.2/cb'] }, 'body.redirect_uris.0', 'loopback'],
    [
      'http for a localhost subdomain',
      { redirect_uris: ['http://localhost.example.com/cb'] },
      'body.redirect_uris.0',
      'loopback',
    ],
    [
      'a fragment',
      { redirect_uris: ['https://app.example.com/cb#frag'] },
      'body.redirect_uris.0',
      'fragment',
    ],
    [
      'an empty fragment',
      { redirect_uris: ['https://app.example.com/cb#'] },
      'body.redirect_uris.0',
      'fragment',
    ],
    [
      'user information',
      { redirect_uris: ['https://user:pw@app.example.com/cb'] },
      'body.redirect_uris.0',
      'user information',
    ],
    [
      'an empty user information',
      { redirect_uris: ['https://@app.example.com/cb'] },
      'body.redirect_uris.0',
      'user information',
    ],
    ['a wildcard host', { redirect_uris: ['https://*.example.com/cb'] }, 'body.redirect_uris.0', 'wildcard'],
    ['a wildcard path', { redirect_uris: ['https://app.example.com/*'] }, 'body.redirect_uris.0', 'wildcard'],
    ['a relative URI', { redirect_uris: ['/callback'] }, 'body.redirect_uris.0', 'absolute'],
    [
      'a scheme-relative URI',
      { redirect_uris: ['//app.example.com/cb'] },
      'body.redirect_uris.0',
      'absolute',
    ],
    ['a javascript: URI', { redirect_uris: ['javascript:alert(1)'] }, 'body.redirect_uris.0', 'https://'],
    ['a data: URI', { redirect_uris: ['data:text/html,hi'] }, 'body.redirect_uris.0', 'https://'],
    ['a custom scheme', { redirect_uris: ['com.example.app:/cb'] }, 'body.redirect_uris.0', 'https://'],
    [
      'no slashes after the scheme',
      { redirect_uris: ['https:app.example.com/cb'] },
      'body.redirect_uris.0',
      'https://host',
    ],
    ['no host', { redirect_uris: ['https:///cb'] }, 'body.redirect_uris.0', 'host'],
    ['a space', { redirect_uris: ['https://app.example.com/a b'] }, 'body.redirect_uris.0', 'characters'],
    [
      'a backslash',
      { redirect_uris: ['https://evil.example\\@app.example.com/'] },
      'body.redirect_uris.0',
      'characters',
    ],
    ['a non-ASCII host', { redirect_uris: ['https://exämple.com/cb'] }, 'body.redirect_uris.0', 'characters'],
    [
      'a bad percent-encoding',
      { redirect_uris: ['https://app.example.com/%zz'] },
      'body.redirect_uris.0',
      '%XX',
    ],
    [
      'an invalid port',
      { redirect_uris: ['https://app.example.com:99999/cb'] },
      'body.redirect_uris.0',
      'port',
    ],
    [
      'an invalid IPv4 host',
      { redirect_uris: ['https://1.2.3.999/cb'] },
      'body.redirect_uris.0',
      'valid URI',
    ],
    [
      'a duplicate redirect URI',
      { redirect_uris: ['https://app.example.com/cb', 'https://app.example.com/cb'] },
      'body.redirect_uris.1',
      'once',
    ],
    [
      'too many redirect URIs',
      { redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example.com/cb${i}`) },
      'body.redirect_uris',
      '10',
    ],
    ['no redirect URI', { redirect_uris: [] }, 'body.redirect_uris', '1'],
    ['an empty redirect URI', { redirect_uris: [''] }, 'body.redirect_uris.0', ''],
    [
      'a redirect URI over 2048 characters',
      { redirect_uris: [`https://app.example.com/${'a'.repeat(2030)}`] },
      'body.redirect_uris.0',
      '2048',
    ],
    ['an unknown scope', { scopes: ['openid', 'write:everything'] }, 'body.scopes.1', 'write:everything'],
    ['a platform-admin scope', { scopes: ['suspend:org'] }, 'body.scopes.0', 'suspend:org'],
    ['a duplicate scope', { scopes: ['openid', 'read:org', 'openid'] }, 'body.scopes.2', 'once'],
    ['empty scopes', { scopes: [] }, 'body.scopes', '1'],
    ['a scope that is not a string', { scopes: [42] }, 'body.scopes.0', 'string'],
    ['no type', { type: undefined }, 'body.type', 'required'],
    ['an unknown type', { type: 'private' }, 'body.type', ''],
    ['no name', { name: undefined }, 'body.name', 'required'],
    ['a blank name', { name: '   ' }, 'body.name', ''],
    ['a name over 100 characters', { name: 'x'.repeat(101) }, 'body.name', '100'],
    ['a description over 500 characters', { description: 'x'.repeat(501) }, 'body.description', '500'],
    ['a client-chosen secret', { client_secret: 'fl_ocs_mine' }, 'body.client_secret', 'not a known field'],
    ['a client-chosen id', { client_id: UNKNOWN_ID }, 'body.client_id', 'not a known field'],
  ];

  // One user for the whole table: nothing it sends is valid, so its org stays without clients.
  let shared: Promise<TestUser> | undefined;

  it.each(invalid)('refuses %s with a 400 naming the field', async (_what, change, path, hint) => {
    shared ??= newUser(server, 'validation');
    const user = await shared;
    const body: Record<string, unknown> = { ...CONFIDENTIAL, ...change };
    for (const [key, value] of Object.entries(change)) if (value === undefined) delete body[key];
    const response = await create(user, body);
    expect(response.status, response.text).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const error = (response.body.errors as { path: string; message: string }[]).find((e) => e.path === path);
    expect(error, response.text).toBeDefined();
    expect(`${error?.message} ${response.body.detail}`).toContain(hint);
    expect((await server.request('GET', clientsOf(user), { token: user.token })).body.data).toEqual([]);
  });

  it('reports every bad redirect URI and scope at once', async () => {
    const user = await newUser(server);
    const response = await create(user, {
      ...CONFIDENTIAL,
      redirect_uris: ['https://ok.example.com/cb', 'http://app.example.com/cb', 'https://a.example.com/#x'],
      scopes: ['openid', 'nope'],
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(response.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'body.redirect_uris.1',
      'body.redirect_uris.2',
      'body.scopes.1',
    ]);
    expect(response.body.detail).toContain('body.redirect_uris.1');
    const onlyUris = await create(user, { ...CONFIDENTIAL, redirect_uris: ['http://app.example.com/cb'] });
    expect(onlyUris.body.code).toBe('invalid_redirect_uri');
    const onlyScopes = await create(user, { ...CONFIDENTIAL, scopes: ['nope'] });
    expect(onlyScopes.body.code).toBe('invalid_scope');
    expect(onlyScopes.body.detail).toContain('"nope"');
  });

  it('accepts http:// for loopback hosts, with or without a port', async () => {
    const user = await newUser(server);
    const uris = [
      'http://127.0.0.1/callback',
      'http://127.0.0.1:8976/callback',
      'http://[::1]/callback',
      'http://[::1]:8976/callback',
      'http://localhost/callback',
      'http://localhost:3000/callback?next=%2Fhome',
      'https://localhost/callback',
      'https://app.example.com/callback',
    ];
    const created = await create(user, { ...PUBLIC, redirect_uris: uris });
    expect(created.status, created.text).toBe(201);
    expect(created.body.redirect_uris).toEqual(uris);
    // Exactly ten is the limit, not beyond.
    const ten = Array.from({ length: 10 }, (_, i) => `https://app.example.com/cb${i}`);
    expect((await create(user, { ...PUBLIC, redirect_uris: ten })).status).toBe(201);
  });

  it('accepts every catalogue scope and the protocol scopes', async () => {
    const user = await newUser(server);
    const catalogue = (await server.request('GET', '/api/v1/scopes')).body.scopes as string[];
    const scopes = ['openid', 'profile', 'email', 'offline_access', ...catalogue];
    const created = await create(user, { ...PUBLIC, scopes });
    expect(created.status, created.text).toBe(201);
    expect(created.body.scopes).toEqual(scopes);
  });

  it('refuses malformed JSON and wrong types as 400 problems', async () => {
    const user = await newUser(server);
    for (const body of ['{"name":', '[]', 'null', '"x"']) {
      const response = await server.request('POST', clientsOf(user), { token: user.token, body });
      expect(response.status, body).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    for (const change of [
      { redirect_uris: 'https://app.example.com/cb' },
      { scopes: 'openid' },
      { name: 3 },
    ]) {
      const response = await create(user, { ...CONFIDENTIAL, ...change });
      expect(response.status, JSON.stringify(change)).toBe(400);
    }
  });
});
