import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { newUser, PASSWORD, type TestUser, useTestServer } from '../../../../../test/harness.ts';
import { checkTotpCode, hasConfirmedTotp } from './service.ts';

const server = useTestServer();

const enrol = (user: TestUser) => server.request('POST', '/api/v1/me/mfa/totp', { token: user.token });
const verify = (user: TestUser, code: string) =>
  server.request('POST', '/api/v1/me/mfa/totp/verify', { token: user.token, body: { code } });
const disable = (user: TestUser, code: string) =>
  server.request('DELETE', '/api/v1/me/mfa/totp', { token: user.token, body: { code } });
const login = (user: TestUser, mfaCode?: string) =>
  server.request('POST', '/api/v1/auth/login', {
    body: { email: user.email, password: PASSWORD, ...(mfaCode === undefined ? {} : { mfa_code: mfaCode }) },
  });

/** The authenticator app: a code for `secret` at now + offsetMs. */
const codeFor = (secret: string, offsetMs = 0) =>
  new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + offsetMs });
/** A well-formed code that no step within ±1 of now produces. */
function wrongCode(secret: string) {
  const valid = new Set([-30_000, 0, 30_000, 60_000].map((offset) => codeFor(secret, offset)));
  let n = Number(codeFor(secret));
  let candidate: string;
  do candidate = String(++n % 1_000_000).padStart(6, '0');
  while (valid.has(candidate));
  return candidate;
}

async function enabledUser() {
  const user = await newUser(server, 'mfa');
  const enrolled = await enrol(user);
  expect(enrolled.status).toBe(201);
  const secret = enrolled.body.secret as string;
  expect((await verify(user, codeFor(secret))).status).toBe(200);
  return { user, secret };
}

describe('TOTP enrolment and API login', () => {
  it('enrol → verify → login needs the code, refuses replays and wrong codes → disable → login without code', async () => {
    const user = await newUser(server, 'mfa');
    const enrolled = await enrol(user);
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toEqual({
      secret: expect.stringMatching(/^[A-Z2-7]{32}$/),
      otpauth_url: expect.stringMatching(/^otpauth:\/\/totp\/Orgplane:/),
      confirmed: false,
    });
    const secret = enrolled.body.secret as string;
    const url = new URL(enrolled.body.otpauth_url);
    expect(decodeURIComponent(url.pathname)).toBe(`/Orgplane:${user.email}`);
    expect(url.searchParams.get('secret')).toBe(secret);
    expect(url.searchParams.get('issuer')).toBe('Orgplane');

    // Not on until confirmed: login still works without a code.
    expect((await login(user)).status).toBe(200);
    expect(await hasConfirmedTotp(server.deps, user.userId)).toBe(false);

    const wrongVerify = await verify(user, wrongCode(secret));
    expect(wrongVerify.status).toBe(400);
    expect(wrongVerify.body.code).toBe('invalid_mfa_code');

    const verified = await verify(user, codeFor(secret));
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ enabled: true });
    expect(await hasConfirmedTotp(server.deps, user.userId)).toBe(true);

    const missing = await login(user);
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('mfa_required');
    expect(missing.body.detail).toBe(
      'This account uses two-factor authentication: send mfa_code with the code from your authenticator app.',
    );

    const code = codeFor(secret);
    const signedIn = await login(user, code);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.access_token).toEqual(expect.any(String));

    const replay = await login(user, code);
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('invalid_mfa_code');

    const wrong = await login(user, wrongCode(secret));
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_mfa_code');

    const malformed = await login(user, '12ab56');
    expect(malformed.status).toBe(400);

    // A wrong password is still answered as before, without revealing the second factor.
    const badPassword = await server.request('POST', '/api/v1/auth/login', {
      body: { email: user.email, password: 'not-the-password', mfa_code: codeFor(secret, 30_000) },
    });
    expect(badPassword.status).toBe(401);
    expect(badPassword.body.code).toBe('invalid_credentials');

    expect((await disable(user, wrongCode(secret))).body.code).toBe('invalid_mfa_code');
    const next = codeFor(secret, 30_000);
    expect((await disable(user, next)).status).toBe(204);
    expect(await hasConfirmedTotp(server.deps, user.userId)).toBe(false);
    expect((await disable(user, next)).status).toBe(404);

    expect((await login(user)).status).toBe(200);
  });

  it('a second enrolment before confirming replaces the first; a confirmed one answers 409', async () => {
    const user = await newUser(server, 'mfa');
    const first = (await enrol(user)).body.secret as string;
    const second = await enrol(user);
    expect(second.status).toBe(201);
    const secret = second.body.secret as string;
    expect(secret).not.toBe(first);
    expect((await verify(user, codeFor(first))).body.code).toBe('invalid_mfa_code');
    expect((await verify(user, codeFor(secret))).status).toBe(200);

    const again = await enrol(user);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('mfa_already_enabled');
    expect((await verify(user, codeFor(secret))).status).toBe(409);
    // The confirmed secret is untouched.
    expect((await login(user, codeFor(secret))).status).toBe(200);
  });

  it('answers 404 when nothing is enrolled or TOTP is not on', async () => {
    const user = await newUser(server, 'mfa');
    expect((await verify(user, '123456')).status).toBe(404);
    expect((await disable(user, '123456')).status).toBe(404);
    const secret = (await enrol(user)).body.secret as string;
    expect((await disable(user, codeFor(secret))).status).toBe(404);
  });

  it('checkTotpCode: a confirmed enrolment only, each step once, and the secret is sealed at rest', async () => {
    const { user, secret } = await enabledUser();
    const code = codeFor(secret);
    expect(await checkTotpCode(server.deps, user.userId, code)).toBe(true);
    expect(await checkTotpCode(server.deps, user.userId, code)).toBe(false);
    // An older step than the one accepted is refused too.
    expect(await checkTotpCode(server.deps, user.userId, codeFor(secret, -30_000))).toBe(false);
    expect(await checkTotpCode(server.deps, user.userId, codeFor(secret, 30_000))).toBe(true);
    expect(await checkTotpCode(server.deps, user.userId, 'abcdef')).toBe(false);

    const other = await newUser(server, 'mfa');
    const pending = (await enrol(other)).body.secret as string;
    expect(await checkTotpCode(server.deps, other.userId, codeFor(pending))).toBe(false);

    const row = await server.deps.db
      .selectFrom('user_totp')
      .select('secret_sealed')
      .where('user_id', '=', user.userId)
      .executeTakeFirstOrThrow();
    expect(row.secret_sealed).not.toContain(secret);
    const raw = Buffer.from(Secret.fromBase32(secret).buffer);
    expect(server.deps.vault.masterKey.decrypt(row.secret_sealed, `totp:${user.userId}`)).toEqual(raw);
    expect(() => server.deps.vault.masterKey.decrypt(row.secret_sealed, `totp:${other.userId}`)).toThrow();
  });

  it('wrong codes count against the login throttle', async () => {
    const { user, secret } = await enabledUser();
    const max = server.deps.config.rateLimits.loginFailuresPerAccount.max;
    for (let i = 0; i < max; i++) expect((await login(user, wrongCode(secret))).status).toBe(401);
    const limited = await login(user, codeFor(secret));
    expect(limited.status).toBe(429);
    await server.deps.limiter.reset(`login:mfa:${user.userId}`);
  });

  it('needs a user session: API keys get 403 credential_not_allowed', async () => {
    const user = await newUser(server);
    const created = await server.request('POST', `/api/v1/orgs/${user.orgId}/api-keys`, {
      token: user.token,
      body: { name: 'mfa probe', scopes: ['read:org'] },
    });
    expect(created.status).toBe(201);
    const headers = { 'x-api-key': created.body.key as string };
    for (const [method, url, body] of [
      ['POST', '/api/v1/me/mfa/totp', undefined],
      ['POST', '/api/v1/me/mfa/totp/verify', { code: '123456' }],
      ['DELETE', '/api/v1/me/mfa/totp', { code: '123456' }],
    ] as const) {
      const response = await server.request(method, url, { headers, body });
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(response.body.code).toBe('credential_not_allowed');
    }
    expect((await server.request('POST', '/api/v1/me/mfa/totp')).status).toBe(401);
  });
});
