import { describe, expect, it } from 'vitest';
import { newUser, type TestUser, useTestServer } from '../../../../../test/harness.ts';

const server = useTestServer();

const me = (user: TestUser) => server.request('GET', '/api/v1/me', { token: user.token });
const patchMe = (user: TestUser, body: unknown) =>
  server.request('PATCH', '/api/v1/me', { token: user.token, body });

async function apiKeyOf(user: TestUser) {
  const created = await server.request('POST', `/api/v1/orgs/${user.orgId}/api-keys`, {
    token: user.token,
    body: { name: 'profile probe', scopes: ['read:org'] },
  });
  expect(created.status).toBe(201);
  return created.body.key as string;
}

describe('GET /api/v1/me', () => {
  it('describes the signed-in user; CLI login access is off by default', async () => {
    const user = await newUser(server, 'profile');
    const response = await me(user);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: user.userId,
      email: user.email,
      name: 'profile',
      allow_cli_login_access: false,
      created_at: expect.any(String),
    });
    expect(Date.parse(response.body.created_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('needs a credential (401), and a user session: API keys get 403 credential_not_allowed', async () => {
    const user = await newUser(server);
    const anonymous = await server.request('GET', '/api/v1/me');
    expect(anonymous.status).toBe(401);
    const key = await apiKeyOf(user);
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { allow_cli_login_access: true }],
    ] as const) {
      const response = await server.request(method, '/api/v1/me', { headers: { 'x-api-key': key }, body });
      expect(response.status, method).toBe(403);
      expect(response.body.code).toBe('credential_not_allowed');
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect((await me(user)).body.allow_cli_login_access).toBe(false);
  });
});

describe('PATCH /api/v1/me', () => {
  it('changes the name (trimmed) and the CLI login setting, alone or together', async () => {
    const user = await newUser(server);
    const renamed = await patchMe(user, { name: '  Jane Doe ' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: user.userId, name: 'Jane Doe', allow_cli_login_access: false });

    const allowed = await patchMe(user, { allow_cli_login_access: true });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ name: 'Jane Doe', allow_cli_login_access: true });

    const both = await patchMe(user, { name: null, allow_cli_login_access: false });
    expect(both.status).toBe(200);
    expect(both.body).toEqual({
      id: user.userId,
      email: user.email,
      name: null,
      allow_cli_login_access: false,
      created_at: (await me(user)).body.created_at,
    });
    expect((await me(user)).body).toEqual(both.body);

    const longest = 'n'.repeat(100);
    expect((await patchMe(user, { name: longest })).body.name).toBe(longest);
  });

  it('changes only the caller', async () => {
    const user = await newUser(server);
    const other = await newUser(server, 'other');
    await patchMe(user, { name: 'Changed', allow_cli_login_access: true });
    expect((await me(other)).body).toMatchObject({ name: 'other', allow_cli_login_access: false });
  });

  it.each([
    ['an empty body', {}, 'body'],
    ['an empty name', { name: '' }, 'body.name'],
    ['a blank name', { name: '   ' }, 'body.name'],
    ['a name over 100 characters', { name: 'n'.repeat(101) }, 'body.name'],
    ['a name that is not a string', { name: 42 }, 'body.name'],
    ['a setting that is not a boolean', { allow_cli_login_access: 'yes' }, 'body.allow_cli_login_access'],
    ['an unknown field', { email: 'new@example.com' }, 'body.email'],
    ['a non-object body', [], 'body'],
  ])('refuses %s with a 400 naming the field', async (_what, body, path) => {
    const user = await newUser(server);
    const response = await patchMe(user, body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect((await me(user)).body).toMatchObject({ name: 'user', allow_cli_login_access: false });
  });

  it('answers 400 to malformed JSON', async () => {
    const user = await newUser(server);
    const response = await patchMe(user, '{"name":');
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('invalid_json');
  });
});
