import { sql } from 'kysely';
import * as OTPAuth from 'otpauth';
import { describe, expect, it } from 'vitest';
import { addMember, newUser, PASSWORD, type TestUser, useTestServer } from '../../../../../test/harness.ts';

// Every secret this file sees (request secrets, one-time tokens, session tokens, the password):
// none may ever reach a log line (checked last).
const logLines: string[] = [];
const secrets: string[] = [PASSWORD];

const server = useTestServer(
  // Three failed sign-ins per account, then 429 (the harness lifts the per-IP limit).
  { ORGPLANE_LOGIN_ACCOUNT_LIMIT_MAX: '3' },
  { logDestination: { write: (line) => void logLines.push(line) } },
);

const REQUESTS = '/api/v1/auth/cli-login-requests';
const TOKEN_FORMAT = /fl_clt_[0-9A-Za-z]{43}/;

let ipCounter = 0;
const freshIp = () => `10.88.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

interface CliRequest {
  id: string;
  secret: string;
  /** The verification URL's path and query (the page the browser opens). */
  pagePath: string;
}

/** The CLI's side: opens a request over the API, as a CLI on its own address would. */
async function startRequest(
  clientName: string | undefined = 'jane-laptop',
  userAgent = 'orgplane-cli/1.0 (test)',
): Promise<CliRequest> {
  const response = await server.request('POST', REQUESTS, {
    body: clientName === undefined ? {} : { client_name: clientName },
    ip: freshIp(),
    headers: { 'user-agent': userAgent },
  });
  expect(response.status, response.text).toBe(201);
  secrets.push(response.body.secret);
  const url = new URL(response.body.verification_url);
  expect(url.origin).toBe('http://orgplane.test');
  return { id: response.body.request_id, secret: response.body.secret, pagePath: url.pathname + url.search };
}

interface Page {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  html: string;
}

/** Every hosted page: HTML with a language, never framed, cached or leaking a referrer. */
function expectPageHeaders(page: Page) {
  expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
  expect(String(page.headers['content-security-policy'])).toContain("default-src 'none'");
  expect(page.headers['x-frame-options']).toBe('DENY');
  expect(page.headers['cache-control']).toBe('no-store');
  expect(page.headers['referrer-policy']).toBe('no-referrer');
  expect(page.html).toMatch(/^<!doctype html>\s*<html lang="en">/);
  expect(page.html, 'no script on any page').not.toMatch(/<script/i);
}

async function openPage(path: string): Promise<Page> {
  const response = await server.app.inject({ method: 'GET', url: path, remoteAddress: freshIp() });
  const page = { status: response.statusCode, headers: response.headers, html: response.body };
  expectPageHeaders(page);
  return page;
}

async function submit(form: Record<string, string>, ip = freshIp()): Promise<Page> {
  const response = await server.app.inject({
    method: 'POST',
    url: '/cli-login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(form).toString(),
    remoteAddress: ip,
  });
  const page = { status: response.statusCode, headers: response.headers, html: response.body };
  expectPageHeaders(page);
  const token = page.html.match(TOKEN_FORMAT)?.[0];
  if (token) secrets.push(token);
  return page;
}

/** The value of the form field `name` on a page (as the browser would read it, unescaped). */
function fieldValue(html: string, name: string): string | undefined {
  const match = html.match(new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`));
  return match?.[1]
    ?.replaceAll('&quot;', '"')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');
}

/** The form of the page at the request's URL, filled in with `email` and `password`. */
async function filledForm(request: CliRequest, email: string, password = PASSWORD) {
  const page = await openPage(request.pagePath);
  expect(page.status, page.html).toBe(200);
  return {
    request_id: fieldValue(page.html, 'request_id') ?? '',
    secret: fieldValue(page.html, 'secret') ?? '',
    csrf: fieldValue(page.html, 'csrf') ?? '',
    email,
    password,
  };
}

async function poll(request: CliRequest) {
  const response = await server.request('POST', `${REQUESTS}/${request.id}/poll`, {
    body: { secret: request.secret },
    ip: freshIp(),
  });
  if (response.status === 200 && response.body.access_token) {
    secrets.push(response.body.access_token, response.body.refresh_token);
  }
  return response;
}

async function allowCliLogin(user: TestUser, allow = true) {
  const response = await server.request('PATCH', '/api/v1/me', {
    token: user.token,
    body: { allow_cli_login_access: allow },
  });
  expect(response.status).toBe(200);
}

async function cliUser(label = 'page') {
  const user = await newUser(server, label);
  secrets.push(user.token, user.refreshToken);
  await allowCliLogin(user);
  return user;
}

async function statusOf(request: CliRequest) {
  const row = await server.deps.db
    .selectFrom('cli_login_requests')
    .select('status')
    .where('id', '=', request.id)
    .executeTakeFirstOrThrow();
  return row.status;
}

async function cliAuditEntries(user: TestUser) {
  const log = await server.request('GET', `/api/v1/orgs/${user.orgId}/audit-logs?action=auth.*&limit=100`, {
    token: user.token,
  });
  expect(log.status).toBe(200);
  return (
    log.body.data as { action: string; actor: { id: string }; metadata: Record<string, unknown> }[]
  ).filter((entry) => entry.action.startsWith('auth.cli_login'));
}

describe('CLI login page: the whole flow', () => {
  it('CLI request → page shows it → password → success page with the token → the CLI polls once', async () => {
    const user = await cliUser();
    const request = await startRequest('jane-laptop');

    const page = await openPage(request.pagePath);
    expect(page.status).toBe(200);
    expect(page.html).toContain('jane-laptop');
    expect(page.html).toContain('orgplane-cli/1.0 (test)');
    expect(page.html).toMatch(/10\.88\.\d+\.\d+/);
    expect(page.html).toContain('act as you');
    expect(page.html).toContain('Sign in and approve');
    expect(page.html).toContain('<label for="email">Email</label>');
    expect(page.html).toContain('<label for="password">Password</label>');
    expect(page.html).toMatch(/<input id="email" name="email" type="email"/);
    expect(page.html).toMatch(/<input id="password" name="password" type="password"/);
    expect(fieldValue(page.html, 'request_id')).toBe(request.id);
    expect(fieldValue(page.html, 'secret')).toBe(request.secret);
    expect(fieldValue(page.html, 'csrf')).toMatch(/^[0-9a-f]{64}$/);
    expect((await poll(request)).body).toEqual({ status: 'pending' });

    const done = await submit(await filledForm(request, user.email));
    expect(done.status, done.html).toBe(200);
    expect(done.html).toContain('Return to your terminal — it will finish signing in');
    expect(done.html).toContain('<label for="token">One-time token</label>');
    expect(done.html).toMatch(/<input id="token" name="token" type="text" readonly value="fl_clt_/);
    expect(done.html).toContain('<code>--token</code>');
    const token = fieldValue(done.html, 'token');
    expect(token).toMatch(new RegExp(`^${TOKEN_FORMAT.source}$`));
    expect(await statusOf(request)).toBe('approved');

    const collected = await poll(request);
    expect(collected.status, collected.text).toBe(200);
    expect(collected.body).toMatchObject({ status: 'approved', token_type: 'Bearer' });
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: collected.body.access_token });
    expect(whoami.body).toMatchObject({ user_id: user.userId, organization: { id: user.orgId } });
    const again = await poll(request);
    expect(again.status).toBe(410);
    expect(again.body.code).toBe('cli_login_request_used');

    // Used: the page no longer offers the form.
    const used = await openPage(request.pagePath);
    expect(used.status).toBe(409);
    expect(used.html).not.toContain('Sign in and approve');

    const actions = await cliAuditEntries(user);
    expect(actions.map((e) => e.action)).toEqual(['auth.cli_login', 'auth.cli_login_approved']);
    expect(actions[1]).toMatchObject({
      actor: { id: user.userId },
      metadata: { client_name: 'jane-laptop', requested_user_agent: 'orgplane-cli/1.0 (test)' },
    });
  });

  it('the pasted token works instead of polling', async () => {
    const user = await cliUser();
    const request = await startRequest();
    const done = await submit(await filledForm(request, user.email));
    const token = fieldValue(done.html, 'token');
    const signedIn = await server.request('POST', '/api/v1/auth/cli-login', {
      body: { token },
      ip: freshIp(),
    });
    expect(signedIn.status, signedIn.text).toBe(200);
    secrets.push(signedIn.body.access_token, signedIn.body.refresh_token);
    expect((await poll(request)).status).toBe(410);
  });

  it("approves for the user's default org (the one a password login starts in)", async () => {
    const owner = await cliUser('owner');
    const user = await cliUser('member');
    await addMember(server, owner.orgId, user.userId, 'member');
    const request = await startRequest();
    expect((await submit(await filledForm(request, user.email))).status).toBe(200);
    const collected = await poll(request);
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: collected.body.access_token });
    expect(whoami.body.organization.id).toBe(user.orgId);
  });

  it('a request approved elsewhere (API) answers 409 on the page', async () => {
    const user = await cliUser();
    const request = await startRequest();
    const form = await filledForm(request, user.email);
    const approval = await server.request('POST', `${REQUESTS}/${request.id}/token`, {
      token: user.token,
      body: { secret: request.secret },
    });
    expect(approval.status).toBe(200);
    secrets.push(approval.body.token);
    expect((await openPage(request.pagePath)).status).toBe(409);
    const late = await submit(form);
    expect(late.status).toBe(409);
    expect(late.html).toContain('already approved');
    expect(late.html).not.toMatch(TOKEN_FORMAT);
  });
});

describe('CLI login page: refusals', () => {
  it('a forged or missing CSRF token: 403, nothing approved', async () => {
    const user = await cliUser();
    const request = await startRequest();
    const other = await startRequest();
    const form = await filledForm(request, user.email);
    const otherForm = await filledForm(other, user.email);
    for (const csrf of ['', '0'.repeat(64), otherForm.csrf, `${form.csrf}0`]) {
      const refused = await submit({ ...form, csrf });
      expect(refused.status).toBe(403);
      expect(refused.html).toContain('did not come from this site');
      expect(refused.html).not.toMatch(TOKEN_FORMAT);
    }
    const { csrf: _dropped, ...withoutCsrf } = form;
    expect((await submit(withoutCsrf)).status).toBe(403);
    expect(await statusOf(request)).toBe('pending');
    expect((await poll(request)).body).toEqual({ status: 'pending' });
  });

  it('two-factor accounts also give the authenticator code: missing or wrong → 401, still pending', async () => {
    const user = await cliUser('page-mfa');
    const enrolled = await server.request('POST', '/api/v1/me/mfa/totp', { token: user.token });
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrolled.body.secret) });
    expect(
      (
        await server.request('POST', '/api/v1/me/mfa/totp/verify', {
          token: user.token,
          body: { code: totp.generate() },
        })
      ).status,
    ).toBe(200);
    const request = await startRequest();
    const form = await filledForm(request, user.email);
    const missing = await submit(form);
    expect(missing.status).toBe(401);
    expect(missing.html).toContain('role="alert"');
    expect(await statusOf(request)).toBe('pending');
    expect((await submit({ ...form, code: '000000' })).status).toBe(401);
    expect(await statusOf(request)).toBe('pending');
    const approved = await submit({ ...form, code: totp.generate({ timestamp: Date.now() + 30_000 }) });
    expect(approved.status, approved.html).toBe(200);
    expect(approved.html).toMatch(TOKEN_FORMAT);
    expect(await statusOf(request)).toBe('approved');
  });

  it('a wrong password: 400, the form again with the error and the email; still pending', async () => {
    const user = await cliUser();
    const request = await startRequest();
    const form = await filledForm(request, user.email, 'not-the-password-at-all');
    const refused = await submit(form);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('role="alert">The email or password is incorrect.');
    expect(refused.html).toContain('Sign in and approve');
    expect(fieldValue(refused.html, 'email')).toBe(user.email);
    expect(fieldValue(refused.html, 'password'), 'the password is never echoed').toBeUndefined();
    expect(fieldValue(refused.html, 'csrf')).toBe(form.csrf);
    expect(refused.html).not.toMatch(TOKEN_FORMAT);
    expect(await statusOf(request)).toBe('pending');
    expect((await poll(request)).body).toEqual({ status: 'pending' });
    // Unknown accounts and empty fields alike.
    expect((await submit({ ...form, email: 'nobody-here@example.com' })).status).toBe(400);
    expect((await submit({ ...form, password: '' })).status).toBe(400);
  });

  it('sign-in attempts are throttled per account: 429 with Retry-After, on the form', async () => {
    const user = await cliUser();
    const request = await startRequest();
    const form = await filledForm(request, user.email, 'wrong-password-again');
    for (let i = 0; i < 3; i++) expect((await submit(form)).status).toBe(400);
    const blocked = await submit({ ...form, password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.html).toMatch(/Too many attempts; try again in \d+ seconds\./);
    expect(blocked.html).toContain('Sign in and approve');
    expect(await statusOf(request)).toBe('pending');
  });

  it('CLI login access off: 403 explaining the setting; still pending; works once turned on', async () => {
    const user = await cliUser();
    await allowCliLogin(user, false);
    const request = await startRequest();
    const form = await filledForm(request, user.email);
    const refused = await submit(form);
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('CLI login is not enabled for your account');
    expect(refused.html).toContain('PATCH /api/v1/me');
    expect(refused.html).not.toContain('Profile');
    expect(refused.html).toContain('allow_cli_login_access');
    expect(refused.html).not.toMatch(TOKEN_FORMAT);
    expect(await statusOf(request)).toBe('pending');
    expect((await poll(request)).body).toEqual({ status: 'pending' });

    await allowCliLogin(user);
    const approved = await submit(form);
    expect(approved.status).toBe(200);
    expect(approved.html).toMatch(TOKEN_FORMAT);
  });

  it('an expired request: 410 on the page and on the form', async () => {
    const user = await cliUser();
    const request = await startRequest();
    const form = await filledForm(request, user.email);
    await server.deps.db
      .updateTable('cli_login_requests')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('id', '=', request.id)
      .execute();
    const page = await openPage(request.pagePath);
    expect(page.status).toBe(410);
    expect(page.html).toContain('expired');
    expect(page.html).not.toContain('Sign in and approve');
    const late = await submit(form);
    expect(late.status).toBe(410);
    expect(await statusOf(request)).toBe('pending');
  });

  it('a wrong secret, an unknown id or a bad link: the same 404 page', async () => {
    const user = await cliUser();
    const request = await startRequest();
    const other = await startRequest();
    const unknownId = '0190a6f0-0000-7000-8000-000000000000';
    const query = (id: string, secret: string) =>
      `/cli-login?${new URLSearchParams({ request_id: id, secret })}`;
    const pages = [
      query(request.id, other.secret),
      query(unknownId, request.secret),
      query('not-a-uuid', request.secret),
      query(request.id, ''),
      `/cli-login?request_id=${request.id}`,
      '/cli-login',
      `/cli-login?request_id=${request.id}&secret=${request.secret}&secret=${request.secret}`,
    ];
    for (const path of pages) {
      const page = await openPage(path);
      expect(page.status, path).toBe(404);
      expect(page.html).toContain('This sign-in request is not valid');
      expect(page.html).not.toContain('Sign in and approve');
      expect(page.html).not.toContain('jane-laptop');
    }
    // The form with a valid CSRF for the id but another request's secret.
    const form = await filledForm(request, user.email);
    const wrong = await submit({ ...form, secret: other.secret });
    expect(wrong.status).toBe(404);
    expect(wrong.html).toContain('This sign-in request is not valid');
    expect(await statusOf(request)).toBe('pending');
  });
});

describe('CLI login page: output is escaped', () => {
  it('a malicious client name and user agent are shown as text', async () => {
    const name = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
    const userAgent = 'evil/1.0 "><iframe src=//evil.example>';
    const user = await cliUser();
    const request = await startRequest(name, userAgent);
    const page = await openPage(request.pagePath);
    expect(page.status).toBe(200);
    expect(page.html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;',
    );
    expect(page.html).toContain('evil/1.0 &quot;&gt;&lt;iframe src=//evil.example&gt;');
    expect(page.html).not.toContain('<img');
    expect(page.html).not.toContain('<iframe');

    const done = await submit(await filledForm(request, user.email));
    expect(done.status).toBe(200);
    expect(done.html).toContain('&lt;script&gt;');
    expect(done.html).not.toContain('<img');

    const refused = await submit({
      ...(await filledForm(await startRequest(name), '"><b>x</b>@example.com')),
    });
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('value="&quot;&gt;&lt;b&gt;x&lt;/b&gt;@example.com"');
    expect(refused.html).not.toContain('<b>x</b>');
  });
});

describe('CLI login page: logs', () => {
  it('never carry the request secret, the password, the one-time token or session tokens', async () => {
    const text = logLines.join('');
    expect(text).toContain('/cli-login?request_id=');
    expect(text).toContain('secret=[redacted]');
    expect(text).toContain('"url":"/cli-login"');
    expect(secrets.length).toBeGreaterThan(20);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('not-the-password-at-all');
    expect(text).not.toContain('wrong-password-again');
  });
});
