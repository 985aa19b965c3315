// The OAuth server driven by a real relying-party library (openid-client) through the whole
// authorization-code + PKCE flow: discovery, the hosted sign-in and consent pages (a tiny browser:
// cookies, redirects, forms), the code exchange, API calls with the token, refresh rotation,
// revocation, replayed codes.
import * as oidc from 'openid-client';
import * as OTPAuth from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  newUser,
  PASSWORD,
  type TestServer,
  type TestUser,
  useTestServer,
} from '../../../../../test/harness.ts';
import { sweepExpiredOauthModels } from './repo.ts';

const server = useTestServer();
const ISSUER = 'http://orgplane.test';
const REDIRECT = 'https://app.example.com/callback';

/** fetch for openid-client and the browser, answered by the test server in process. */
async function inProcessFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const target = new URL(String(url));
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => {
    headers[key] = value;
  });
  const response = await server.app.inject({
    method: (init.method ?? 'GET') as 'GET',
    url: target.pathname + target.search,
    headers: { host: target.host, ...headers },
    payload: init.body ? String(init.body) : undefined,
  });
  const out = new Headers();
  for (const [key, value] of Object.entries(response.headers)) {
    if (Array.isArray(value)) for (const item of value) out.append(key, String(item));
    else if (value !== undefined) out.set(key, String(value));
  }
  return new Response(
    response.statusCode === 204 || response.statusCode === 304 ? null : new Uint8Array(response.rawPayload),
    {
      status: response.statusCode,
      headers: out,
    },
  );
}

/** A minimal browser: a cookie jar, redirects followed until they leave for the client's URL. */
class Browser {
  private cookies = new Map<string, string>();
  lastPage = '';

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Follows redirects; returns the final page response, or the URL it was sent to off-site. */
  async go(url: string, init: { method?: string; form?: Record<string, string> } = {}) {
    this.lastPage = '';
    let next: string | null = url;
    let method = init.method ?? 'GET';
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hops = 0; next && hops < 20; hops++) {
      const target = new URL(next, ISSUER);
      if (target.origin !== ISSUER) return { redirectedTo: target, status: 0, page: '' };
      const headers: Record<string, string> = { cookie: this.cookieHeader() };
      if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
      const response = await inProcessFetch(target, { method, headers, body });
      this.remember(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        next = location;
        method = 'GET';
        body = undefined;
        continue;
      }
      this.lastPage = await response.text();
      return { redirectedTo: null, status: response.status, page: this.lastPage, headers: response.headers };
    }
    throw new Error('too many redirects');
  }

  /** Submits the page's form whose action ends with `suffix`, with its hidden fields plus `fields`. */
  async submit(page: string, suffix: string, fields: Record<string, string> = {}) {
    const forms = [...page.matchAll(/<form[^>]*\saction="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((match) => match[1]?.endsWith(suffix));
    if (!form) throw new Error(`no form ending with ${suffix} in:\n${page}`);
    const hidden = Object.fromEntries(
      [...(form[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)].map(
        (m) => [m[1], m[2]],
      ),
    );
    return this.go(String(form[1]).replaceAll('&amp;', '&'), {
      method: 'POST',
      form: { ...hidden, ...fields },
    });
  }
}

async function registerClient(owner: TestUser, body: Record<string, unknown> = {}) {
  const response = await server.request('POST', `/api/v1/orgs/${owner.orgId}/oauth-clients`, {
    token: owner.token,
    body: {
      name: 'Acme Dashboard',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      scopes: [
        'openid',
        'email',
        'profile',
        'offline_access',
        'read:org',
        'read:workspaces',
        'write:workspaces',
      ],
      ...body,
    },
  });
  if (response.status !== 201)
    throw new Error(`client registration failed: ${response.status} ${response.text}`);
  return response.body as { client_id: string; client_secret?: string };
}

async function relyingParty(client: { client_id: string; client_secret?: string }) {
  return oidc.discovery(
    new URL(ISSUER),
    client.client_id,
    client.client_secret,
    client.client_secret ? oidc.ClientSecretBasic(client.client_secret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests], [oidc.customFetch]: inProcessFetch as never },
  );
}

/** Runs the browser part: authorize → sign in → consent → back at the client with a code. */
async function authorize(
  config: oidc.Configuration,
  user: { email: string },
  options: { scope?: string; orgId?: string; browser?: Browser } = {},
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: options.scope ?? 'openid offline_access read:org read:workspaces write:workspaces',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const browser = options.browser ?? new Browser();
  let step = await browser.go(url.href);
  if (step.page.includes('name="password"')) {
    step = await browser.submit(step.page, '/login', { email: user.email, password: PASSWORD });
  }
  if (step.page.includes('/confirm"')) {
    step = await browser.submit(step.page, '/confirm', options.orgId ? { org_id: options.orgId } : {});
  }
  if (!step.redirectedTo) throw new Error(`the flow did not return to the client:\n${step.page}`);
  return { callback: step.redirectedTo, verifier, state, browser };
}

describe('OAuth 2.0 authorization code + PKCE, with openid-client', () => {
  let owner: TestUser;
  let client: { client_id: string; client_secret?: string };
  let config: oidc.Configuration;

  beforeAll(async () => {
    owner = await newUser(server, 'oauth-owner');
    client = await registerClient(owner);
    config = await relyingParty(client);
  });

  it('discovery names our endpoints, PKCE S256 only, code only, our JWKS', async () => {
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(ISSUER);
    expect(meta.authorization_endpoint).toBe(`${ISSUER}/oauth/authorize`);
    expect(meta.token_endpoint).toBe(`${ISSUER}/oauth/token`);
    expect(meta.revocation_endpoint).toBe(`${ISSUER}/oauth/revoke`);
    expect(meta.introspection_endpoint).toBe(`${ISSUER}/oauth/introspect`);
    expect(meta.device_authorization_endpoint).toBe(`${ISSUER}/oauth/device/auth`);
    expect(meta.jwks_uri).toBe(`${ISSUER}/.well-known/jwks.json`);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.grant_types_supported).not.toContain('password');
    expect(meta.grant_types_supported).not.toContain('implicit');
  });

  it('signs a user in, and the token calls the API in the chosen org with the granted scopes', async () => {
    const { callback, verifier, state } = await authorize(config, owner);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope?.split(' ')).toEqual(expect.arrayContaining(['read:org', 'read:workspaces']));

    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token });
    expect(whoami.status).toBe(200);
    expect(whoami.body.user_id).toBe(owner.userId);
    expect(whoami.body.organization.id).toBe(owner.orgId);
    expect(whoami.body.scopes.sort()).toEqual(['read:org', 'read:workspaces', 'write:workspaces']);

    const created = await server.request('POST', `/api/v1/orgs/${owner.orgId}/workspaces`, {
      token: tokens.access_token,
      body: { name: 'Made by an app' },
    });
    expect(created.status).toBe(201);
    // Not granted: the API keys of the org.
    const keys = await server.request('GET', `/api/v1/orgs/${owner.orgId}/api-keys`, {
      token: tokens.access_token,
    });
    expect(keys.status).toBe(403);
    // An application cannot reach beyond its grant through user-level routes.
    const switched = await server.request('POST', '/api/v1/auth/switch-org', {
      token: tokens.access_token,
      body: { org_id: owner.orgId },
    });
    expect(switched.status).toBe(403);
    expect(switched.body.code).toBe('credential_not_allowed');

    // The ID token says who signed in.
    expect(tokens.claims()?.sub).toBe(owner.userId);
  });

  it('userinfo answers a token asked for protocol scopes only (API tokens are for the API)', async () => {
    const { callback, verifier, state } = await authorize(config, owner, { scope: 'openid email profile' });
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const info = await oidc.fetchUserInfo(config, tokens.access_token, owner.userId);
    expect(info).toMatchObject({ sub: owner.userId, email: owner.email });
  });

  it('rotates refresh tokens, and a replayed one revokes the grant (its access tokens stop)', async () => {
    const { callback, verifier, state } = await authorize(config, owner);
    const first = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const second = await oidc.refreshTokenGrant(config, String(first.refresh_token));
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: second.access_token })).status).toBe(
      200,
    );

    await expect(oidc.refreshTokenGrant(config, String(first.refresh_token))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(oidc.refreshTokenGrant(config, String(second.refresh_token))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: second.access_token })).status).toBe(
      401,
    );
  });

  it('a code works once; replaying it also revokes what it issued', async () => {
    const { callback, verifier, state } = await authorize(config, owner);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    await expect(
      oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      401,
    );
    await expect(oidc.refreshTokenGrant(config, String(tokens.refresh_token))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('revoking the refresh token ends the grant; introspection then says inactive', async () => {
    const { callback, verifier, state } = await authorize(config, owner);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const live = await oidc.tokenIntrospection(config, String(tokens.refresh_token));
    expect(live.active).toBe(true);
    await oidc.tokenRevocation(config, String(tokens.refresh_token));
    expect((await oidc.tokenIntrospection(config, String(tokens.refresh_token))).active).toBe(false);
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      401,
    );
  });

  it('a user grants only what their role allows in the org they pick', async () => {
    const viewer = await newUser(server, 'oauth-viewer');
    await addMember(server, owner.orgId, viewer.userId, 'viewer');
    const { callback, verifier, state } = await authorize(config, viewer, { orgId: owner.orgId });
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token });
    expect(whoami.body.organization.id).toBe(owner.orgId);
    expect(whoami.body.scopes.sort()).toEqual(['read:org', 'read:workspaces']);
    const write = await server.request('POST', `/api/v1/orgs/${owner.orgId}/workspaces`, {
      token: tokens.access_token,
      body: { name: 'Viewer cannot' },
    });
    expect(write.status).toBe(403);
  });

  it('refuses plain PKCE, a missing challenge, and the implicit flow', async () => {
    const base = { client_id: client.client_id, redirect_uri: REDIRECT, scope: 'openid', state: 'x' };
    const browser = new Browser();
    const plain = await browser.go(
      `/oauth/authorize?${new URLSearchParams({ ...base, response_type: 'code', code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' })}`,
    );
    expect(plain.redirectedTo?.searchParams.get('error')).toBe('invalid_request');
    const missing = await browser.go(
      `/oauth/authorize?${new URLSearchParams({ ...base, response_type: 'code' })}`,
    );
    expect(missing.redirectedTo?.searchParams.get('error')).toBe('invalid_request');
    const implicit = await browser.go(
      `/oauth/authorize?${new URLSearchParams({ ...base, response_type: 'token' })}`,
    );
    expect(implicit.redirectedTo?.href ?? implicit.page).toMatch(/error=unsupported_response_type/);
  });

  it('never redirects to an unregistered redirect URI: it shows an error page', async () => {
    const variants = [
      `${REDIRECT}/`,
      REDIRECT.toUpperCase().replace('HTTPS', 'https'),
      'https://APP.example.com/callback',
      `${REDIRECT}/extra`,
      `${REDIRECT}?x=1`,
      'https://app.example.com/other/../callback',
      'https://app.example.com/%63allback',
      'https://app.example.com.evil.com/callback',
      'https://evil.com/callback',
      'http://app.example.com/callback',
      `${REDIRECT}#frag`,
    ];
    for (const redirect of variants) {
      const response = await new Browser().go(
        `/oauth/authorize?${new URLSearchParams({
          client_id: client.client_id,
          redirect_uri: redirect,
          response_type: 'code',
          scope: 'openid',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        })}`,
      );
      expect(response.redirectedTo, redirect).toBeNull();
      expect(response.status, redirect).toBe(400);
      expect(response.page, redirect).toContain('redirect_uri');
      expect(response.headers?.get('content-security-policy'), redirect).toContain("frame-ancestors 'none'");
    }
  });

  it('remembers consent: a second authorization skips the pages', async () => {
    const first = await authorize(config, owner);
    await oidc.authorizationCodeGrant(config, first.callback, {
      pkceCodeVerifier: first.verifier,
      expectedState: first.state,
    });
    const again = await authorize(config, owner, { browser: first.browser });
    expect(again.browser.lastPage).not.toContain('/confirm"');
    const tokens = await oidc.authorizationCodeGrant(config, again.callback, {
      pkceCodeVerifier: again.verifier,
      expectedState: again.state,
    });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      200,
    );
  });

  it('hosted pages: labelled fields, CSRF-protected forms, never framed', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid read:org',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const browser = new Browser();
    const login = await browser.go(url.href);
    expect(login.status).toBe(200);
    expect(login.headers?.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(login.headers?.get('x-frame-options')).toBe('DENY');
    expect(login.page).toContain('<label for="email">');
    expect(login.page).toContain('<label for="password">');
    expect(login.page).toContain('Acme Dashboard');
    const action = /action="([^"]+\/login)"/.exec(login.page)?.[1] as string;
    const forged = await browser.go(action, {
      method: 'POST',
      form: { csrf: 'forged', email: owner.email, password: PASSWORD },
    });
    expect(forged.status).toBe(403);
    // A page a person can read (not problem JSON), never framed either.
    expect(forged.page).toContain('start again');
    expect(forged.headers?.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const wrong = await browser.submit(login.page, '/login', {
      email: owner.email,
      password: 'not-the-password-at-all',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.page).toContain('role="alert"');
  });
});

describe('device authorization grant (RFC 8628)', () => {
  it('a device gets tokens once the user enters its code, signs in and consents', async () => {
    const owner = await newUser(server, 'device-owner');
    const client = await registerClient(owner, { type: 'public' });
    const config = await relyingParty(client);
    const device = await oidc.initiateDeviceAuthorization(config, {
      scope: 'openid offline_access read:org',
    });
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(device.verification_uri).toBe(`${ISSUER}/oauth/device`);
    expect(device.expires_in).toBeLessThanOrEqual(600);

    const browser = new Browser();
    const input = await browser.go(device.verification_uri);
    expect(input.status).toBe(200);
    expect(input.page).toContain('<label for="user_code">');
    expect(input.headers?.get('content-security-policy')).toContain("frame-ancestors 'none'");
    let step = await browser.submit(input.page, '/oauth/device', { user_code: device.user_code });
    expect(step.page).toContain(device.user_code);
    step = await browser.submit(step.page, '/oauth/device');
    step = await browser.submit(step.page, '/login', { email: owner.email, password: PASSWORD });
    step = await browser.submit(step.page, '/confirm');
    expect(step.page).toContain('You are done');

    const tokens = await oidc.pollDeviceAuthorizationGrant(config, device);
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token });
    expect(whoami.status).toBe(200);
    expect(whoami.body.organization.id).toBe(owner.orgId);
    expect(whoami.body.scopes).toEqual(['read:org']);
  }, 30_000);

  it('a wrong code is refused with a message, and guessing is rate-limited per IP', async () => {
    const browser = new Browser();
    const input = await browser.go('/oauth/device');
    const wrong = await browser.submit(input.page, '/oauth/device', { user_code: 'BCDF-GHJK' });
    expect(wrong.page).toContain('not valid or has expired');
    let last = wrong;
    for (let i = 0; i < 40 && last.status !== 429; i++) {
      const page = await browser.go('/oauth/device');
      last = await browser.submit(page.page, '/oauth/device', { user_code: 'BCDF-GHJK' });
    }
    expect(last.status).toBe(429);
    expect(last.headers?.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('consent, remembered and withdrawn by the user', () => {
  it('lists the applications a user authorized; withdrawing stops their tokens at once', async () => {
    const owner = await newUser(server, 'consent-owner');
    const client = await registerClient(owner);
    const config = await relyingParty(client);
    const { callback, verifier, state } = await authorize(config, owner);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });

    const list = await server.request('GET', '/api/v1/me/oauth-consents', { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    const consent = list.body.data[0];
    expect(consent).toMatchObject({
      client_id: client.client_id,
      client_name: 'Acme Dashboard',
      org_id: owner.orgId,
    });
    expect(consent.scopes).toEqual(expect.arrayContaining(['openid', 'read:org', 'read:workspaces']));

    // Another user cannot see or withdraw it; the application's own token cannot either.
    const other = await newUser(server, 'consent-other');
    expect(
      (await server.request('GET', '/api/v1/me/oauth-consents', { token: other.token })).body.data,
    ).toEqual([]);
    const path = `/api/v1/me/oauth-consents/${consent.grant_id}`;
    expect((await server.request('DELETE', path, { token: other.token })).status).toBe(404);
    expect((await server.request('DELETE', path, { token: tokens.access_token })).status).toBe(403);

    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      200,
    );
    expect((await server.request('DELETE', path, { token: owner.token })).status).toBe(204);
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      401,
    );
    await expect(oidc.refreshTokenGrant(config, String(tokens.refresh_token))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect(
      (await server.request('GET', '/api/v1/me/oauth-consents', { token: owner.token })).body.data,
    ).toEqual([]);
    expect((await server.request('DELETE', path, { token: owner.token })).status).toBe(404);
  });

  it('a client cannot introspect or revoke another client’s tokens, nor use a wrong secret', async () => {
    const owner = await newUser(server, 'two-clients');
    const first = await registerClient(owner);
    const second = await registerClient(owner, { name: 'Other App' });
    const firstConfig = await relyingParty(first);
    const secondConfig = await relyingParty(second);
    const { callback, verifier, state } = await authorize(firstConfig, owner);
    const tokens = await oidc.authorizationCodeGrant(firstConfig, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect((await oidc.tokenIntrospection(secondConfig, String(tokens.refresh_token))).active).toBe(false);
    await oidc.tokenRevocation(secondConfig, String(tokens.refresh_token)).catch(() => undefined);
    expect((await oidc.tokenIntrospection(firstConfig, String(tokens.refresh_token))).active).toBe(true);
    const impostor = await relyingParty({
      client_id: first.client_id,
      client_secret: `${first.client_secret}x`,
    });
    const refused = await oidc
      .refreshTokenGrant(impostor, String(tokens.refresh_token))
      .catch((error) => error);
    expect(refused).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
    expect(refused.status).toBe(401);
    expect(refused.cause[0].parameters.error).toBe('invalid_client');
  });
});

describe('hardening', () => {
  async function grantedTokens(owner: TestUser, body: Record<string, unknown> = {}, scope?: string) {
    const client = await registerClient(owner, body);
    const config = await relyingParty(client);
    const { callback, verifier, state } = await authorize(config, owner, scope ? { scope } : {});
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return { client, config, tokens };
  }

  it('an app acting for an owner stops while the org is archived (GET included)', async () => {
    const owner = await newUser(server, 'archived-app');
    const { tokens } = await grantedTokens(owner);
    const archived = await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, {
      token: owner.token,
    });
    expect(archived.status).toBe(200);
    const list = await server.request('GET', `/api/v1/orgs/${owner.orgId}/workspaces`, {
      token: tokens.access_token,
    });
    expect(list.status).toBe(403);
    expect(list.body.code).toBe('org_archived');
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      403,
    );
    // The owner, signed in as themselves, still reads it.
    expect(
      (await server.request('GET', `/api/v1/orgs/${owner.orgId}/workspaces`, { token: owner.token })).status,
    ).toBe(200);
  });

  it('an app never mints credentials that would outlive its grant', async () => {
    const owner = await newUser(server, 'minting-app');
    const { tokens } = await grantedTokens(
      owner,
      { scopes: ['openid', 'read:org', 'read:api_keys', 'write:api_keys'] },
      'openid read:org read:api_keys write:api_keys',
    );
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token });
    expect(whoami.body.scopes).not.toContain('write:api_keys');
    const key = await server.request('POST', `/api/v1/orgs/${owner.orgId}/api-keys`, {
      token: tokens.access_token,
      body: { name: 'outliving', scopes: ['read:org'] },
    });
    expect(key.status).toBe(403);
  });

  it('a token follows its client: narrowed scopes, an archived client org, a deleted client', async () => {
    const owner = await newUser(server, 'client-changes');
    const { client, tokens } = await grantedTokens(owner);
    const narrowed = await server.request(
      'PATCH',
      `/api/v1/orgs/${owner.orgId}/oauth-clients/${client.client_id}`,
      {
        token: owner.token,
        body: { scopes: ['openid', 'offline_access', 'read:org'] },
      },
    );
    expect(narrowed.status).toBe(200);
    const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token });
    expect(whoami.body.scopes).toEqual(['read:org']);

    // A user of another org granted it access there; archiving the client's org stops it.
    const outsider = await newUser(server, 'client-changes-outsider');
    const config = await relyingParty(client);
    const flow = await authorize(config, outsider, { scope: 'openid read:org' });
    const theirs = await oidc.authorizationCodeGrant(config, flow.callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
    });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: theirs.access_token })).status).toBe(
      200,
    );
    await server.request('POST', `/api/v1/orgs/${owner.orgId}/archive`, { token: owner.token });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: theirs.access_token })).status).toBe(
      401,
    );
  });

  it('leaving an org drops the grants made there; being invited back does not revive them', async () => {
    const owner = await newUser(server, 'leaving-owner');
    const member = await newUser(server, 'leaving-member');
    await addMember(server, owner.orgId, member.userId, 'member');
    const client = await registerClient(owner);
    const config = await relyingParty(client);
    const flow = await authorize(config, member, {
      orgId: owner.orgId,
      scope: 'openid offline_access read:org',
    });
    const tokens = await oidc.authorizationCodeGrant(config, flow.callback, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
    });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      200,
    );
    const removed = await server.request('DELETE', `/api/v1/orgs/${owner.orgId}/members/${member.userId}`, {
      token: owner.token,
    });
    expect(removed.status).toBe(204);
    await addMember(server, owner.orgId, member.userId, 'viewer');
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      401,
    );
    await expect(oidc.refreshTokenGrant(config, String(tokens.refresh_token))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const consents = await server.request('GET', '/api/v1/me/oauth-consents', { token: member.token });
    expect(consents.body.data.filter((c: { org_id: string }) => c.org_id === owner.orgId)).toEqual([]);
  });

  it('endpoints in discovery are the issuer’s, whatever Host or X-Forwarded-Host a caller sends', async () => {
    const response = await server.app.inject({
      method: 'GET',
      url: '/.well-known/openid-configuration',
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain('evil.example');
    expect(JSON.parse(response.body).token_endpoint).toBe(`${ISSUER}/oauth/token`);
  });

  it('interaction forms answer (not hang) when the interaction cookie is gone', async () => {
    const owner = await newUser(server, 'cookie-gone');
    const client = await registerClient(owner);
    const config = await relyingParty(client);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const page = await new Browser().go(url.href);
    const stranger = new Browser(); // no cookies
    const login = /action="([^"]+\/login)"/.exec(page.page)?.[1] as string;
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.page)?.[1] as string;
    for (const action of [login, login.replace(/\/login$/, '/abort')]) {
      const answer = await Promise.race([
        stranger.go(action, { method: 'POST', form: { csrf, email: owner.email, password: PASSWORD } }),
        new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000)),
      ]);
      expect(answer, action).not.toBe('hung');
      expect((answer as { status: number }).status, action).toBeGreaterThanOrEqual(400);
      expect((answer as { status: number }).status, action).toBeLessThan(500);
    }
  });

  it('the device page posts one user_code (the provider’s field, labelled)', async () => {
    const page = await new Browser().go('/oauth/device');
    expect(page.page.match(/name="user_code"/g)).toHaveLength(1);
    expect(page.page).toMatch(/id="user_code" name="user_code"/);
  });

  it('guessing codes at /oauth/device/ (trailing slash) counts against the same limit', async () => {
    const browser = new Browser();
    let last = { status: 0 } as { status: number };
    for (let i = 0; i < 40 && last.status !== 429; i++) {
      const page = await browser.go('/oauth/device');
      const action = /action="([^"]+)"/.exec(page.page)?.[1] ?? '/oauth/device';
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.page)?.[1] ?? '';
      last = await browser.go(`${action}/`, { method: 'POST', form: { xsrf, user_code: 'BCDF-GHJK' } });
    }
    expect(last.status).toBe(429);
  });
});

describe('housekeeping', () => {
  it('sweeps OAuth rows that expired over an hour ago, and only those', async () => {
    const db = server.deps.db;
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);
    const rows = [
      { id: `sweep-old-${Date.now()}`, expires_at: hoursAgo(2) },
      { id: `sweep-recent-${Date.now()}`, expires_at: hoursAgo(0.5) },
      { id: `sweep-live-${Date.now()}`, expires_at: hoursAgo(-1) },
      { id: `sweep-forever-${Date.now()}`, expires_at: null },
    ];
    await db
      .insertInto('oauth_models')
      .values(rows.map((row) => ({ model: 'Session', payload: '{}', ...row })))
      .execute();
    await sweepExpiredOauthModels(db);
    const left = await db
      .selectFrom('oauth_models')
      .select('id')
      .where(
        'id',
        'in',
        rows.map((row) => row.id),
      )
      .execute();
    expect(left.map((row) => row.id).sort()).toEqual(
      rows
        .slice(1)
        .map((row) => row.id)
        .sort(),
    );
  });
});

describe('two-factor sign-in on the hosted pages (the MFA prompt)', () => {
  async function enableTotp(user: TestUser) {
    const enrolled = await server.request('POST', '/api/v1/me/mfa/totp', { token: user.token });
    expect(enrolled.status).toBe(201);
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrolled.body.secret) });
    const verified = await server.request('POST', '/api/v1/me/mfa/totp/verify', {
      token: user.token,
      body: { code: totp.generate() },
    });
    expect(verified.status).toBe(200);
    // Codes of the next time step: the one just used for enrolment may not be replayed.
    return { next: () => totp.generate({ timestamp: Date.now() + 30_000 }) };
  }

  it('asks for the code after the password; a wrong code is refused, the right one continues', async () => {
    const owner = await newUser(server, 'mfa-owner');
    const totp = await enableTotp(owner);
    const config = await relyingParty(await registerClient(owner));
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid read:org',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const browser = new Browser();
    const login = await browser.go(url.href);
    const prompt = await browser.submit(login.page, '/login', { email: owner.email, password: PASSWORD });
    expect(prompt.status).toBe(200);
    expect(prompt.page).toContain('<label for="code">Authentication code</label>');
    expect(prompt.page).not.toContain('/confirm"');

    const wrong = await browser.submit(prompt.page, '/mfa', { code: '000000' });
    expect(wrong.status).toBe(401);
    expect(wrong.page).toContain('role="alert"');

    const forged = await browser.submit(wrong.page, '/mfa', {
      code: totp.next(),
      ticket: 'someone.9999999999999.beef',
    });
    expect(forged.page).toContain('name="password"'); // back to the password: no one signed in

    const again = await browser.submit(login.page, '/login', { email: owner.email, password: PASSWORD });
    const consent = await browser.submit(again.page, '/mfa', { code: totp.next() });
    expect(consent.page).toContain('/confirm"');
    const done = await browser.submit(consent.page, '/confirm');
    const tokens = await oidc.authorizationCodeGrant(config, done.redirectedTo as URL, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect((await server.request('GET', '/api/v1/auth/whoami', { token: tokens.access_token })).status).toBe(
      200,
    );
  });
});

export type { TestServer };
