// Issue 4 "Tests": one OAuth 2.0 authorization code + PKCE flow end to end in a real browser.
// Orgplane listens on 127.0.0.1 (its issuer is the URL the browser uses), a tiny node:http server
// plays the client's redirect URI, openid-client builds the request and redeems the code, and
// headless Chromium (driven by playwright-core) signs in and consents on the hosted pages. The
// browser also checks what a person meets there: every control named, the pages never framed.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, isolatedContext, launchChromium } from './browser.ts';
import { PASSWORD, startTestServer, type TestServer } from './harness.ts';

/** Every wait in this file is bounded by this. */
const WAIT_MS = 15_000;
const SCOPE = 'openid offline_access read:org read:workspaces';
const CLIENT_NAME = 'Acme Browser App';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/** The client's redirect URI: records each callback's query and answers "done". */
function startCallbackServer(port: number) {
  const callbacks: URL[] = [];
  const waiters: ((url: URL) => void)[] = [];
  const server: Server = createHttpServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname === '/callback') {
      callbacks.push(url);
      for (const waiter of waiters.splice(0)) waiter(url);
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('done');
      return;
    }
    // A page of another origin that tries to frame `?src=`: the hosted pages must refuse it.
    if (url.pathname === '/frame') {
      const src = String(url.searchParams.get('src')).replaceAll('"', '&quot;');
      response
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!doctype html><title>framer</title><iframe id="victim" src="${src}"></iframe>`);
      return;
    }
    response.writeHead(404).end();
  });
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    listening,
    callbacks,
    /** The next callback request (or the one already received), within WAIT_MS. */
    next(): Promise<URL> {
      const first = callbacks[0];
      if (first) return Promise.resolve(first);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no callback within the wait')), WAIT_MS);
        waiters.push((url) => {
          clearTimeout(timer);
          resolve(url);
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function api(base: string, method: string, path: string, options: { body?: unknown; token?: string }) {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: the test reads arbitrary JSON answers field by field.
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: response.status, body, text };
}

/**
 * What Chromium's accessibility tree says about the page's form controls: each control's role and
 * computed accessible name, and how many visible controls the DOM holds (so an empty tree fails).
 */
async function formControls(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[];
    };
    const roles = new Set(['textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'button']);
    const controls = nodes
      .filter((node) => !node.ignored && roles.has(String(node.role?.value)))
      .map((node) => ({ role: String(node.role?.value), name: String(node.name?.value ?? '').trim() }));
    const inDom = await page.locator('input:not([type=hidden]), select, textarea, button').count();
    return { controls, inDom };
  } finally {
    await cdp.detach();
  }
}

describe('Chromium, which npm test needs', () => {
  it('missing, fails the browser tests saying how to install it (no silent skip)', async () => {
    const missing = '/nonexistent/chromium';
    await expect(launchChromium(missing)).rejects.toThrow(
      `The browser tests need Chromium at ${missing}, and it is not there. Install it (Debian/Ubuntu: \`apt-get install chromium\`) and run the tests again.`,
    );
  });
});

describe('OAuth in a real browser (headless Chromium)', () => {
  let server: TestServer | undefined;
  let callback: ReturnType<typeof startCallbackServer> | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  let config: oidc.Configuration;
  let email = '';
  let userId = '';
  let orgId = '';
  let base = '';
  let redirectUri = '';
  /** Requests the browser tried to send anywhere but 127.0.0.1 (refused). */
  const offHost: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startTestServer({ ORGPLANE_PUBLIC_URL: base });
    await server.app.listen({ port, host: '127.0.0.1' });
    const callbackPort = await freePort();
    redirectUri = `http://127.0.0.1:${callbackPort}/callback`;
    callback = startCallbackServer(callbackPort);
    await callback.listening;

    // A user, signed up and logged in over HTTP, registers a confidential client in their org.
    email = `browser-${randomBytes(4).toString('hex')}@example.com`;
    const signup = await api(base, 'POST', '/api/v1/auth/signup', {
      body: { email, password: PASSWORD, name: 'Browser User' },
    });
    expect(signup.status, signup.text).toBe(201);
    userId = signup.body.user.id;
    orgId = signup.body.organization.id;
    const login = await api(base, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, login.text).toBe(200);
    const registered = await api(base, 'POST', `/api/v1/orgs/${orgId}/oauth-clients`, {
      token: login.body.access_token,
      body: {
        name: CLIENT_NAME,
        type: 'confidential',
        redirect_uris: [redirectUri],
        scopes: SCOPE.split(' '),
      },
    });
    expect(registered.status, registered.text).toBe(201);
    const { client_id, client_secret } = registered.body as { client_id: string; client_secret: string };
    expect(client_secret).toBeTruthy();

    // The relying party, configured by discovery over real HTTP.
    config = await oidc.discovery(
      new URL(base),
      client_id,
      client_secret,
      oidc.ClientSecretBasic(client_secret),
      { execute: [oidc.allowInsecureRequests], timeout: WAIT_MS / 1000 },
    );
    expect(config.serverMetadata().issuer).toBe(base);

    browser = await launchChromium(CHROMIUM, WAIT_MS);
  });

  /** A fresh browser profile (no cookies) whose traffic may go to 127.0.0.1 only. */
  async function newContext(): Promise<BrowserContext> {
    // Anything else the pages ask for is refused and remembered.
    const context = await isolatedContext(browser!, {
      allowedHost: '127.0.0.1',
      offHost,
      timeoutMs: WAIT_MS,
    });
    contexts.push(context);
    return context;
  }

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await callback?.close();
    await server?.close();
  });

  it('signs in and consents on the hosted pages; the code redeems for a token that calls the API', async () => {
    const page = await (await newContext()).newPage();
    // The authorization request: PKCE S256 and state.
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const authorizationUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });

    // The hosted sign-in page.
    const signIn = await page.goto(authorizationUrl.href, { waitUntil: 'load', timeout: WAIT_MS });
    expect(signIn?.status()).toBe(200);
    expect(new URL(page.url()).origin).toBe(base);
    expect(signIn?.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    await expect(page.title()).resolves.toContain('Sign in');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    expect(await page.textContent('main')).toContain(CLIENT_NAME);
    const signInControls = await formControls(page);
    expect(signInControls.controls.length).toBeGreaterThanOrEqual(signInControls.inDom);
    expect(signInControls.controls.filter((control) => !control.name)).toEqual([]);
    expect(signInControls.controls).toEqual(
      expect.arrayContaining([
        { role: 'textbox', name: 'Email' },
        { role: 'textbox', name: 'Password' },
        { role: 'button', name: 'Sign in' },
      ]),
    );
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click({ timeout: WAIT_MS });

    // The consent page names the application and the user; every control on it has a name too.
    await page
      .getByRole('heading', { level: 1, name: `Authorize ${CLIENT_NAME}` })
      .waitFor({ state: 'visible', timeout: WAIT_MS });
    expect(await page.textContent('main')).toContain(email);
    const consentControls = await formControls(page);
    expect(consentControls.controls.length).toBeGreaterThanOrEqual(consentControls.inDom);
    expect(consentControls.controls.filter((control) => !control.name)).toEqual([]);
    const callbackReached = callback!.next();
    await page.getByRole('button', { name: 'Allow' }).click({ timeout: WAIT_MS });

    // Back at the client: the callback server got the code and the state.
    await page.waitForURL(`${redirectUri}?**`, { timeout: WAIT_MS });
    expect(await page.textContent('body')).toBe('done');
    const returned = await callbackReached;
    expect(returned.searchParams.get('state')).toBe(state);
    expect(returned.searchParams.get('code')).toBeTruthy();
    expect(returned.searchParams.get('iss')).toBe(base);
    expect(page.url()).toBe(returned.href);

    const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.claims()?.sub).toBe(userId);

    const whoami = await api(base, 'GET', '/api/v1/auth/whoami', { token: tokens.access_token });
    expect(whoami.status, whoami.text).toBe(200);
    expect(whoami.body.user_id).toBe(userId);
    expect(whoami.body.organization.id).toBe(orgId);
    expect([...whoami.body.scopes].sort()).toEqual(['read:org', 'read:workspaces']);

    // One callback only, and the browser never left 127.0.0.1.
    expect(callback!.callbacks).toHaveLength(1);
    expect(offHost).toEqual([]);
    await page.close();
  });

  it('the hosted sign-in page refuses to be framed by another origin', async () => {
    const target = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: SCOPE,
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: oidc.randomState(),
    });
    // Without a session the request ends on the sign-in page, whose headers forbid framing.
    const page = await (await newContext()).newPage();
    const direct = await page.goto(target.href, { timeout: WAIT_MS });
    expect(direct?.status()).toBe(200);
    await page.getByLabel('Password').waitFor({ state: 'visible', timeout: WAIT_MS });
    expect(direct?.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(direct?.headers()['x-frame-options']).toBe('DENY');

    // A page of another origin (the callback server's port) that frames the same request.
    const framer = new URL(redirectUri);
    framer.pathname = '/frame';
    framer.searchParams.set('src', target.href);
    const blocked: string[] = [];
    page.on('requestfailed', (request) => {
      if (request.frame() !== page.mainFrame()) blocked.push(String(request.failure()?.errorText));
    });
    const framed = page.waitForResponse(
      (response) =>
        response.frame() !== page.mainFrame() && response.url().startsWith(`${base}/oauth/interaction/`),
      { timeout: WAIT_MS },
    );
    await page.goto(framer.href, { waitUntil: 'load', timeout: WAIT_MS });
    // The sign-in page did arrive in the frame…
    const framedResponse = await framed;
    expect(framedResponse.status()).toBe(200);
    expect(framedResponse.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    const frame = await (await page.waitForSelector('#victim', { timeout: WAIT_MS }))?.contentFrame();
    expect(frame).toBeTruthy();
    // …and Chromium refused to show it: the frame holds its error document, no field of ours.
    expect(await frame!.locator('input, main').count()).toBe(0);
    expect(frame!.url()).not.toBe(framedResponse.url());
    expect(blocked).toEqual(['net::ERR_BLOCKED_BY_RESPONSE']);
    expect(offHost).toEqual([]);
    await page.close();
  });
});
