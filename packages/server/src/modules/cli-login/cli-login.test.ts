import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { addMember, newUser, type TestUser, tokenFor, useTestServer } from '../../../../../test/harness.ts';
import { sha256Hex } from '../../platform/crypto.ts';

// Every secret and token this file sees: none may ever reach a log line (checked last).
const logLines: string[] = [];
const secrets: string[] = [];

const server = useTestServer(
  { ORGPLANE_CLI_LOGIN_IP_LIMIT_MAX: '5' },
  { logDestination: { write: (line) => void logLines.push(line) } },
);

const REQUESTS = '/api/v1/auth/cli-login-requests';
const SECRET_FORMAT = /^fl_clr_[0-9A-Za-z]{43}$/;
const TOKEN_FORMAT = /^fl_clt_[0-9A-Za-z]{43}$/;

// Each test's CLI calls come from its own address: the per-IP limits (5 requests, 100 polls) are
// under test only where a test says so.
let ipCounter = 0;
const freshIp = () => `10.77.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

interface CliRequest {
  id: string;
  secret: string;
  ip: string;
  body: Record<string, unknown>;
}

async function startRequest(body?: unknown, ip = freshIp()): Promise<CliRequest> {
  const response = await server.request('POST', REQUESTS, {
    body,
    ip,
    headers: { 'user-agent': 'orgplane-cli/1.0 (test)' },
  });
  expect(response.status, response.text).toBe(201);
  secrets.push(response.body.secret);
  return { id: response.body.request_id, secret: response.body.secret, ip, body: response.body };
}

const view = (user: TestUser | string, request: { id: string; secret: string }) =>
  server.request('GET', `${REQUESTS}/${request.id}?secret=${encodeURIComponent(request.secret)}`, {
    token: typeof user === 'string' ? user : user.token,
  });

async function approve(user: TestUser | string, request: { id: string; secret: string }) {
  const response = await server.request('POST', `${REQUESTS}/${request.id}/token`, {
    token: typeof user === 'string' ? user : user.token,
    body: { secret: request.secret },
  });
  if (response.status === 200) secrets.push(response.body.token);
  return response;
}

async function poll(request: { id: string; secret: string; ip?: string }) {
  const response = await server.request('POST', `${REQUESTS}/${request.id}/poll`, {
    body: { secret: request.secret },
    ip: request.ip ?? freshIp(),
  });
  if (response.status === 200 && response.body.access_token) {
    secrets.push(response.body.access_token, response.body.refresh_token);
  }
  return response;
}

async function redeem(token: string, ip = freshIp()) {
  const response = await server.request('POST', '/api/v1/auth/cli-login', { body: { token }, ip });
  if (response.status === 200) secrets.push(response.body.access_token, response.body.refresh_token);
  return response;
}

async function allowCliLogin(user: TestUser, allow = true) {
  const response = await server.request('PATCH', '/api/v1/me', {
    token: user.token,
    body: { allow_cli_login_access: allow },
  });
  expect(response.status).toBe(200);
}

/** A user who allows CLI logins, and a request they approved (with its one-time token). */
async function approvedRequest() {
  const user = await newUser(server, 'cli');
  await allowCliLogin(user);
  const request = await startRequest({ client_name: 'laptop' });
  const approval = await approve(user, request);
  expect(approval.status, approval.text).toBe(200);
  return { user, request, token: approval.body.token as string };
}

async function expire(requestId: string) {
  await server.deps.db
    .updateTable('cli_login_requests')
    .set({ expires_at: sql<Date>`now() - interval '1 second'` })
    .where('id', '=', requestId)
    .execute();
}

function expectProblem(response: { status: number; body: { code: string } }, status: number, code: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toMatchObject({ status, code, type: expect.any(String), detail: expect.any(String) });
}

async function auditActions(user: TestUser, orgId = user.orgId) {
  const token = orgId === user.orgId ? user.token : await tokenFor(server, user, orgId);
  const log = await server.request('GET', `/api/v1/orgs/${orgId}/audit-logs?action=auth.*&limit=100`, {
    token,
  });
  expect(log.status).toBe(200);
  return (
    log.body.data as { action: string; actor: { id: string }; metadata: Record<string, unknown> }[]
  ).filter((entry) => entry.action.startsWith('auth.cli_login'));
}

describe('CLI login: the whole flow', () => {
  it('create → check → approve → poll once → a normal sign-in; then used', async () => {
    const user = await newUser(server, 'cli');
    await allowCliLogin(user);

    const before = Date.now();
    const request = await startRequest(undefined);
    expect(request.body).toEqual({
      request_id: expect.any(String),
      secret: expect.stringMatching(SECRET_FORMAT),
      verification_url: `http://orgplane.test/cli-login?request_id=${request.id}&secret=${request.secret}`,
      expires_at: expect.any(String),
    });
    const lifetime = Date.parse(request.body.expires_at as string) - before;
    expect(lifetime).toBeGreaterThan(595_000);
    expect(lifetime).toBeLessThanOrEqual(601_000);

    // Stored: only the secret's hash.
    const row = await server.deps.db
      .selectFrom('cli_login_requests')
      .selectAll()
      .where('id', '=', request.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(sha256Hex(request.secret));
    expect(JSON.stringify(row)).not.toContain(request.secret);

    const pending = await view(user, request);
    expect(pending.status).toBe(200);
    expect(pending.body).toEqual({
      request_id: request.id,
      status: 'pending',
      client_name: null,
      requested_from: { ip: request.ip, user_agent: 'orgplane-cli/1.0 (test)' },
      created_at: expect.any(String),
      expires_at: request.body.expires_at,
    });
    expect(await poll(request)).toMatchObject({ status: 200, body: { status: 'pending' } });

    const approval = await approve(user, request);
    expect(approval.status).toBe(200);
    expect(approval.body).toEqual({
      token: expect.stringMatching(TOKEN_FORMAT),
      expires_at: request.body.expires_at,
    });
    const approvedRow = await server.deps.db
      .selectFrom('cli_login_requests')
      .selectAll()
      .where('id', '=', request.id)
      .executeTakeFirstOrThrow();
    expect(approvedRow).toMatchObject({
      status: 'approved',
      approved_by_user_id: user.userId,
      org_id: user.orgId,
      token_hash: sha256Hex(approval.body.token),
    });
    expect((await view(user, request)).body.status).toBe('approved');

    const collected = await poll(request);
    expect(collected.status).toBe(200);
    expect(collected.body).toEqual({
      status: 'approved',
      access_token: expect.any(String),
      refresh_token: expect.stringMatching(/^opr_/),
      token_type: 'Bearer',
      expires_in: 3600,
    });

    // A normal sign-in of the approver, in the org they approved from.
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: collected.body.access_token });
    expect(whoami.status).toBe(200);
    expect(whoami.body).toMatchObject({ user_id: user.userId, email: user.email, role: 'owner' });
    expect(whoami.body.organization.id).toBe(user.orgId);
    const refreshed = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: collected.body.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    secrets.push(refreshed.body.access_token, refreshed.body.refresh_token);
    const replayed = await server.request('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: collected.body.refresh_token },
    });
    expect(replayed.status, 'refresh rotation applies as to any sign-in').toBe(401);

    // Exactly once.
    expectProblem(await poll(request), 410, 'cli_login_request_used');
    expectProblem(await redeem(approval.body.token), 410, 'cli_login_request_used');
    expectProblem(await approve(user, request), 409, 'cli_login_request_used');
    expect((await view(user, request)).body.status).toBe('consumed');

    const actions = await auditActions(user);
    expect(actions.map((e) => e.action)).toEqual(['auth.cli_login', 'auth.cli_login_approved']);
    expect(actions[0]).toMatchObject({
      actor: { id: user.userId },
      metadata: { request_id: request.id, via: 'poll' },
    });
    expect(actions[1]).toMatchObject({ actor: { id: user.userId }, metadata: { requested_ip: request.ip } });
  });

  it('takes an empty body or a client name (trimmed), shown to the approver', async () => {
    const user = await newUser(server);
    expect((await startRequest({})).body.secret).toMatch(SECRET_FORMAT);
    const named = await startRequest({ client_name: '  build-box-7 ' });
    expect((await view(user, named)).body.client_name).toBe('build-box-7');
    const blank = await startRequest({ client_name: '   ' });
    expect((await view(user, blank)).body.client_name).toBeNull();
  });

  it.each([
    ['a client name over 100 characters', { client_name: 'x'.repeat(101) }, 'body.client_name'],
    ['a client name with a line break', { client_name: 'laptop\nApproved by IT' }, 'body.client_name'],
    ['a client name that is not a string', { client_name: 7 }, 'body.client_name'],
    ['an unknown field', { org_id: '0190a6f0-0000-7000-8000-000000000000' }, 'body.org_id'],
  ])('refuses %s (400)', async (_what, body, path) => {
    const response = await server.request('POST', REQUESTS, { body, ip: freshIp() });
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });
});

describe('CLI login: the profile guardrail', () => {
  it('is off by default: 403 cli_login_not_allowed, then PATCH /me turns it on', async () => {
    const user = await newUser(server);
    const request = await startRequest({ client_name: 'laptop' });
    const refused = await approve(user, request);
    expectProblem(refused, 403, 'cli_login_not_allowed');
    // The API call, not a page that does not exist yet.
    expect(refused.body.detail).toContain('PATCH /api/v1/me {"allow_cli_login_access": true}');
    expect(refused.body.detail).not.toContain('Profile');
    expect((await view(user, request)).body.status).toBe('pending');
    expect((await poll(request)).body).toEqual({ status: 'pending' });

    await allowCliLogin(user);
    const approval = await approve(user, request);
    expect(approval.status).toBe(200);
    expect(approval.body.token).toMatch(TOKEN_FORMAT);
  });

  it('is checked again when the session is handed out: turned off after approval → 403, request spent', async () => {
    const { user, request, token } = await approvedRequest();
    await allowCliLogin(user, false);
    expectProblem(await poll(request), 403, 'cli_login_not_allowed');
    // Turning it back on does not revive the request.
    await allowCliLogin(user, true);
    expectProblem(await poll(request), 410, 'cli_login_request_used');
    expectProblem(await redeem(token), 410, 'cli_login_request_used');
    expect(await auditActions(user)).toEqual([
      expect.objectContaining({ action: 'auth.cli_login_approved' }),
    ]);
  });

  it('refuses a token redemption the same way', async () => {
    const { user, token } = await approvedRequest();
    await allowCliLogin(user, false);
    expectProblem(await redeem(token), 403, 'cli_login_not_allowed');
  });
});

describe('CLI login: the one-time token (paste path)', () => {
  it('signs in once; the poll then finds the request used', async () => {
    const { user, request, token } = await approvedRequest();
    const signedIn = await redeem(token);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.stringMatching(/^opr_/),
      token_type: 'Bearer',
      expires_in: 3600,
    });
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: signedIn.body.access_token });
    expect(whoami.body).toMatchObject({ user_id: user.userId, organization: { id: user.orgId } });

    expectProblem(await redeem(token), 410, 'cli_login_request_used');
    expectProblem(await poll(request), 410, 'cli_login_request_used');
    expect((await auditActions(user))[0]).toMatchObject({
      action: 'auth.cli_login',
      metadata: { request_id: request.id, via: 'token' },
    });
  });

  it('answers 404 to a token it never issued, and 410 once the request expired', async () => {
    expectProblem(await redeem('fl_clt_notatokenthatwaseverissued'), 404, 'not_found');
    const { request, token } = await approvedRequest();
    expectProblem(await redeem(`${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`), 404, 'not_found');
    await expire(request.id);
    expectProblem(await redeem(token), 410, 'cli_login_request_expired');
  });
});

describe('CLI login: concurrency', () => {
  it('five parallel polls of an approved request: exactly one gets the session', async () => {
    const { user, request } = await approvedRequest();
    const responses = await Promise.all([1, 2, 3, 4, 5].map(() => poll(request)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 410, 410, 410, 410]);
    for (const response of responses.filter((r) => r.status === 410)) {
      expect(response.body.code).toBe('cli_login_request_used');
    }
    const families = await server.deps.db
      .selectFrom('refresh_token_families')
      .select('id')
      .where('user_id', '=', user.userId)
      .execute();
    expect(families, 'the login of newUser and one CLI session').toHaveLength(2);
    expect((await auditActions(user)).filter((e) => e.action === 'auth.cli_login')).toHaveLength(1);
  });

  it('polls and pastes racing each other: exactly one wins', async () => {
    const { request, token } = await approvedRequest();
    const responses = await Promise.all([
      poll(request),
      redeem(token),
      poll(request),
      redeem(token),
      poll(request),
    ]);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 410)).toHaveLength(4);
  });

  it('two parallel approvals: one token, the other 409', async () => {
    const user = await newUser(server);
    await allowCliLogin(user);
    const request = await startRequest();
    const responses = await Promise.all([approve(user, request), approve(user, request)]);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 409]);
  });
});

describe('CLI login: expiry', () => {
  it('a pending request past its expiry: expired everywhere (410)', async () => {
    const user = await newUser(server);
    await allowCliLogin(user);
    const request = await startRequest();
    await expire(request.id);
    expect((await view(user, request)).body.status).toBe('expired');
    expectProblem(await approve(user, request), 410, 'cli_login_request_expired');
    expectProblem(await poll(request), 410, 'cli_login_request_expired');
  });

  it('an approved request past its expiry: the poll gets 410, not a session', async () => {
    const { user, request } = await approvedRequest();
    await expire(request.id);
    expect((await view(user, request)).body.status).toBe('expired');
    expectProblem(await poll(request), 410, 'cli_login_request_expired');
  });
});

describe('CLI login: unknown requests and wrong secrets', () => {
  it('answers the same 404 to an unknown id and to a wrong secret, on every step', async () => {
    const user = await newUser(server);
    await allowCliLogin(user);
    const request = await startRequest();
    const other = await startRequest();
    const unknown = { id: '0190a6f0-0000-7000-8000-000000000000', secret: request.secret };
    const wrongSecret = { id: request.id, secret: other.secret };
    const garbage = { id: request.id, secret: 'fl_clr_x' };
    const answers: string[] = [];
    for (const attempt of [unknown, wrongSecret, garbage]) {
      for (const response of [await view(user, attempt), await approve(user, attempt), await poll(attempt)]) {
        expectProblem(response, 404, 'not_found');
        answers.push(response.body.detail);
      }
    }
    expect(new Set(answers)).toEqual(new Set(['CLI login request was not found.']));
    expect((await view(user, request)).body.status, 'untouched by the attempts').toBe('pending');
  });

  it('validates the request id and requires the secret (400)', async () => {
    const user = await newUser(server);
    expectProblem(await view(user, { id: 'not-a-uuid', secret: 'x' }), 400, 'validation_failed');
    const noSecret = await server.request('GET', `${REQUESTS}/0190a6f0-0000-7000-8000-000000000000`, {
      token: user.token,
    });
    expectProblem(noSecret, 400, 'validation_failed');
    const emptyPoll = await server.request('POST', `${REQUESTS}/0190a6f0-0000-7000-8000-000000000000/poll`, {
      body: {},
      ip: freshIp(),
    });
    expectProblem(emptyPoll, 400, 'validation_failed');
  });
});

describe('CLI login: who may approve', () => {
  it('needs a user session: 401 without one, 403 credential_not_allowed for an API key', async () => {
    const user = await newUser(server);
    await allowCliLogin(user);
    const request = await startRequest();
    expectProblem(
      await server.request('GET', `${REQUESTS}/${request.id}?secret=${request.secret}`),
      401,
      'unauthorized',
    );
    expectProblem(
      await server.request('POST', `${REQUESTS}/${request.id}/token`, { body: { secret: request.secret } }),
      401,
      'unauthorized',
    );
    const key = await server.request('POST', `/api/v1/orgs/${user.orgId}/api-keys`, {
      token: user.token,
      body: { name: 'cli probe', scopes: ['read:org'] },
    });
    secrets.push(key.body.key);
    const withKey = { headers: { 'x-api-key': key.body.key } };
    expectProblem(
      await server.request('GET', `${REQUESTS}/${request.id}?secret=${request.secret}`, withKey),
      403,
      'credential_not_allowed',
    );
    expectProblem(
      await server.request('POST', `${REQUESTS}/${request.id}/token`, {
        ...withKey,
        body: { secret: request.secret },
      }),
      403,
      'credential_not_allowed',
    );
    expect((await view(user, request)).body.status).toBe('pending');
  });

  it('the session acts in the org the approving session acted in; gone from it by then → 403', async () => {
    const owner = await newUser(server, 'owner');
    const user = await newUser(server, 'member');
    await addMember(server, owner.orgId, user.userId, 'member');
    await allowCliLogin(user);
    const inTeamOrg = await tokenFor(server, user, owner.orgId);

    const request = await startRequest();
    expect((await approve(inTeamOrg, request)).status).toBe(200);
    const collected = await poll(request);
    expect(collected.status).toBe(200);
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: collected.body.access_token });
    expect(whoami.body).toMatchObject({
      user_id: user.userId,
      organization: { id: owner.orgId },
      role: 'member',
    });
    const actions = await auditActions(owner);
    expect(actions.map((e) => e.action)).toEqual(['auth.cli_login', 'auth.cli_login_approved']);
    expect(await auditActions(user), "nothing in the approver's personal org").toEqual([]);

    const second = await startRequest();
    expect((await approve(inTeamOrg, second)).status).toBe(200);
    await server.deps.db
      .deleteFrom('memberships')
      .where('org_id', '=', owner.orgId)
      .where('user_id', '=', user.userId)
      .execute();
    expectProblem(await poll(second), 403, 'cli_login_org_unavailable');
    expectProblem(await poll(second), 410, 'cli_login_request_used');
  });
});

describe('CLI login: throttling per client IP', () => {
  it('creating requests: 5 per window here, then 429 with Retry-After; another IP is unaffected', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++) await startRequest(undefined, ip);
    const blocked = await server.request('POST', REQUESTS, { ip });
    expectProblem(blocked, 429, 'rate_limited');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(600);
    await startRequest(undefined, freshIp());
  });

  it('polling and token redemption: 20× as many (100 here), then 429', async () => {
    const request = await startRequest();
    const ip = freshIp();
    for (let i = 0; i < 99; i++) {
      const response = await poll({ ...request, ip });
      if (response.status !== 200) throw new Error(`poll ${i + 1}: ${response.status} ${response.text}`);
    }
    expectProblem(await redeem('fl_clt_unknown', ip), 404, 'not_found');
    const blocked = await poll({ ...request, ip });
    expectProblem(blocked, 429, 'rate_limited');
    expect(blocked.headers['retry-after']).toBeDefined();
    expectProblem(await redeem('fl_clt_unknown', ip), 429, 'rate_limited');
    expect((await poll({ ...request, ip: freshIp() })).body).toEqual({ status: 'pending' });
  });
});

describe('CLI login: logs', () => {
  it('never carry a request secret, a one-time token or the session tokens', async () => {
    // Every test above ran with logging on: the access log has their URLs (GET …?secret=).
    const text = logLines.join('');
    expect(text).toContain('/api/v1/auth/cli-login-requests/');
    expect(text).toContain('secret=[redacted]');
    expect(secrets.length).toBeGreaterThan(20);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
