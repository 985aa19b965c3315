// `orgplane login` (packages/server/src/cli-login-command.ts) as a user runs it: a child process of
// packages/server/src/cli.ts talking HTTP to a listening Orgplane. The test plays the signed-in
// browser through the API (check the request, approve it) and reads what the CLI printed and stored.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runLoginCommand } from '../packages/server/src/cli-login-command.ts';
import { newUser, startTestServer, type TestServer, type TestUser } from './harness.ts';

const CLI = path.resolve(import.meta.dirname, '../packages/server/src/cli.ts');
const REQUESTS = '/api/v1/auth/cli-login-requests';
/** Bounds every wait on the CLI: start-up (tsx) plus a few 2-second polls. */
const CLI_WAIT_MS = 20_000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

let server: TestServer;
let base = '';
const children: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // The public URL is the listening address, so the verification URL the CLI prints is a real one.
  server = await startTestServer({ ORGPLANE_PUBLIC_URL: base });
  await server.app.listen({ port, host: '127.0.0.1' });
});

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

afterAll(async () => {
  await server?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orgplane-login-'));
  dirs.push(dir);
  return dir;
}

function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what()}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Cli {
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (bounded by CLI_WAIT_MS). */
  exit: () => Promise<number | null>;
  /** Resolves with the first match of `pattern` in stderr (bounded by CLI_WAIT_MS). */
  waitForStderr: (pattern: RegExp) => Promise<RegExpMatchArray>;
}

/** Runs `orgplane login <args>` with `env` on top of this process's environment (minus any config dir). */
function login(args: string[], env: Record<string, string>): Cli {
  const inherited = { ...process.env };
  delete inherited.ORGPLANE_CONFIG_DIR;
  delete inherited.XDG_CONFIG_HOME;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'login', ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const listeners: (() => void)[] = [];
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output = () => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exit: () => within(exited, CLI_WAIT_MS, () => `the CLI to exit\n${output()}`),
    waitForStderr: (pattern) =>
      within(
        new Promise<RegExpMatchArray>((resolve, reject) => {
          const check = () => {
            const match = stderr.match(pattern);
            if (match) resolve(match);
          };
          listeners.push(check);
          check();
          void exited.then(() => {
            check();
            reject(new Error(`the CLI exited before printing ${pattern}\n${output()}`));
          });
        }),
        CLI_WAIT_MS,
        () => `${pattern} on stderr\n${output()}`,
      ),
  };
}

async function cliUser(): Promise<TestUser> {
  const user = await newUser(server, 'cli');
  const allowed = await server.request('PATCH', '/api/v1/me', {
    token: user.token,
    body: { allow_cli_login_access: true },
  });
  expect(allowed.status, allowed.text).toBe(200);
  return user;
}

/** The request id and secret in the verification URL the CLI printed. */
async function printedRequest(cli: Cli) {
  const [, printed] = await cli.waitForStderr(
    /Open this URL in a browser where you are signed in to approve: (\S+)/,
  );
  const url = new URL(printed as string);
  expect(url.origin).toBe(base);
  const id = url.searchParams.get('request_id');
  const secret = url.searchParams.get('secret');
  expect(id).toBeTruthy();
  expect(secret).toMatch(/^fl_clr_/);
  return { id: id as string, secret: secret as string };
}

/** Reads credentials.json, checking it is private and was written whole (no temp file left behind). */
function readCredentials(dir: string) {
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(readdirSync(dir)).toEqual(['credentials.json']);
  const file = path.join(dir, 'credentials.json');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string | null>;
}

/** The stored sign-in is a working one for `user`, and the CLI never printed its tokens. */
async function expectSignedIn(cli: Cli, dir: string, user: TestUser) {
  const stored = readCredentials(dir);
  expect(stored).toEqual({
    url: base,
    access_token: expect.any(String),
    refresh_token: expect.any(String),
    expires_at: expect.any(String),
    user_id: user.userId,
    email: user.email,
    org_id: user.orgId,
  });
  const expiresIn = Date.parse(stored.expires_at as string) - Date.now();
  expect(expiresIn).toBeGreaterThan(60_000);
  expect(expiresIn).toBeLessThanOrEqual(3_600_000);
  const whoami = await server.request('GET', '/api/v1/auth/whoami', { token: stored.access_token as string });
  expect(whoami.status, whoami.text).toBe(200);
  expect(whoami.body).toMatchObject({ user_id: user.userId, email: user.email });
  const refreshed = await server.request('POST', '/api/v1/auth/refresh', {
    body: { refresh_token: stored.refresh_token },
  });
  expect(refreshed.status, refreshed.text).toBe(200);
  expect(cli.stdout()).toBe(`Signed in to ${base} as ${user.email}\n`);
  for (const output of [cli.stdout(), cli.stderr()]) {
    expect(output).not.toContain(stored.access_token);
    expect(output).not.toContain(stored.refresh_token);
  }
}

describe('orgplane login', () => {
  it('shows the verification URL, polls until the user approves, and stores a working sign-in', async () => {
    const user = await cliUser();
    // A directory that does not exist yet: the CLI creates it, private.
    const dir = path.join(tempDir(), 'nested', 'orgplane');
    const cli = login(['--url', base, '--name', 'ci-laptop'], { ORGPLANE_CONFIG_DIR: dir });
    const request = await printedRequest(cli);
    await cli.waitForStderr(/The request expires in 10 minutes \(at .+\)\. Waiting for approval/);

    // The browser: check who asks, then approve.
    const check = await server.request(
      'GET',
      `${REQUESTS}/${request.id}?secret=${encodeURIComponent(request.secret)}`,
      { token: user.token },
    );
    expect(check.status, check.text).toBe(200);
    expect(check.body).toMatchObject({ status: 'pending', client_name: 'ci-laptop' });
    expect(check.body.requested_from.user_agent).toBe('orgplane-cli');
    const approval = await server.request('POST', `${REQUESTS}/${request.id}/token`, {
      token: user.token,
      body: { secret: request.secret },
    });
    expect(approval.status, approval.text).toBe(200);

    expect(await cli.exit(), cli.stderr()).toBe(0);
    await expectSignedIn(cli, dir, user);
    expect(cli.stderr()).toContain(`Credentials saved to ${path.join(dir, 'credentials.json')}`);
    // The poll that collected the sign-in spent the request.
    const again = await server.request('POST', `${REQUESTS}/${request.id}/poll`, {
      body: { secret: request.secret },
    });
    expect(again.status).toBe(410);
  });

  it('redeems a pasted one-time token (--token), replacing an earlier login under $XDG_CONFIG_HOME', async () => {
    const user = await cliUser();
    const created = await server.request('POST', REQUESTS, { body: { client_name: 'no-poll-box' } });
    expect(created.status, created.text).toBe(201);
    const approval = await server.request('POST', `${REQUESTS}/${created.body.request_id}/token`, {
      token: user.token,
      body: { secret: created.body.secret },
    });
    expect(approval.status, approval.text).toBe(200);
    const token = approval.body.token as string;

    const xdg = tempDir();
    const dir = path.join(xdg, 'orgplane');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, 'credentials.json'), '{"url":"https://old.example.com"}', { mode: 0o644 });
    const cli = login(['--url', `${base}/`, '--token', token], { XDG_CONFIG_HOME: xdg });
    expect(await cli.exit(), cli.stderr()).toBe(0);
    await expectSignedIn(cli, dir, user);

    // One-time: the same token again is refused, readably, and the stored login is untouched.
    const before = readFileSync(path.join(dir, 'credentials.json'), 'utf8');
    const reuse = login(['--url', base, '--token', token], { XDG_CONFIG_HOME: xdg });
    expect(await reuse.exit()).toBe(1);
    expect(reuse.stderr()).toMatch(/^orgplane login: .*already been used.*\n$/);
    expect(readFileSync(path.join(dir, 'credentials.json'), 'utf8')).toBe(before);
  });

  it('exits 1 with a message when the request expires before approval, storing nothing', async () => {
    const dir = path.join(tempDir(), 'orgplane');
    const cli = login(['--url', base], { ORGPLANE_CONFIG_DIR: dir });
    const request = await printedRequest(cli);
    await server.deps.db
      .updateTable('cli_login_requests')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('id', '=', request.id)
      .execute();
    expect(await cli.exit()).toBe(1);
    expect(cli.stderr()).toMatch(/orgplane login: the login request expired before it was approved/);
    expect(cli.stdout()).toBe('');
    expect(existsSync(dir)).toBe(false);
  });

  it('says what is wrong in one line: usage (64), unreachable server, refused token (1)', async () => {
    const dir = path.join(tempDir(), 'orgplane');
    const env = { ORGPLANE_CONFIG_DIR: dir };

    const noUrl = login([], env);
    expect(await noUrl.exit()).toBe(64);
    expect(noUrl.stderr()).toContain('--url is required');
    const badUrl = login(['--url', 'not a url'], env);
    expect(await badUrl.exit()).toBe(64);
    expect(badUrl.stderr()).toContain('is not a URL');

    const closed = `http://127.0.0.1:${await freePort()}`;
    const unreachable = login(['--url', closed], env);
    expect(await unreachable.exit()).toBe(1);
    expect(unreachable.stderr()).toBe(
      `orgplane login: cannot reach ${closed}: connection refused (is Orgplane running there?)\n`,
    );

    // The server's problem+json detail, as is.
    const unknown = login(['--url', base, '--token', `fl_clt_${'x'.repeat(43)}`], env);
    expect(await unknown.exit()).toBe(1);
    expect(unknown.stderr()).toBe(
      'orgplane login: sign-in with the one-time token refused: CLI login token was not found.\n',
    );
    expect(existsSync(dir)).toBe(false);
  });
});

// The polling loop's edges, which a real server produces only rarely: a stand-in server scripts the
// poll answers, and the command runs in-process with a short poll interval.
describe('orgplane login polling, against a scripted server', () => {
  type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
  const stubs: Server[] = [];
  afterAll(async () => {
    await Promise.all(stubs.map((stub) => new Promise((resolve) => stub.close(resolve))));
  });

  async function stubServer(polls: Reply[], create?: Reply) {
    const pollTimes: number[] = [];
    const stub = createHttpServer((request, response) => {
      const send = (reply: Reply) => {
        const problem = reply.status >= 400;
        response.writeHead(reply.status, {
          'content-type': problem ? 'application/problem+json' : 'application/json',
          ...reply.headers,
        });
        response.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      };
      request.resume();
      request.on('end', () => {
        const url = request.url ?? '';
        if (url === REQUESTS) {
          send(
            create ?? {
              status: 201,
              body: {
                request_id: '0190f1f2-0000-7000-8000-000000000001',
                secret: 'fl_clr_stub',
                verification_url: 'https://orgplane.example.com/cli-login?request_id=x&secret=fl_clr_stub',
                expires_at: new Date(Date.now() + 600_000).toISOString(),
              },
            },
          );
        } else if (url.endsWith('/poll')) {
          pollTimes.push(Date.now());
          send(polls.shift() ?? { status: 200, body: { status: 'pending' } });
        } else if (url === '/api/v1/auth/whoami') {
          send({
            status: 200,
            body: { user_id: 'u-1', email: 'stub@example.com', organization: { id: 'o-1', name: 'Stub' } },
          });
        } else {
          send({ status: 404, body: { detail: 'no such route' } });
        }
      });
    });
    stubs.push(stub);
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const { port } = stub.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, pollTimes };
  }

  async function run(url: string) {
    const dir = path.join(tempDir(), 'orgplane');
    const out: string[] = [];
    const err: string[] = [];
    const code = await within(
      runLoginCommand(['--url', url], {
        env: { ORGPLANE_CONFIG_DIR: dir },
        stdout: (line) => out.push(line),
        stderr: (line) => err.push(line),
        pollIntervalMs: 20,
      }),
      CLI_WAIT_MS,
      () => `the login to finish\n${err.join('\n')}`,
    );
    return { code, dir, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  const approved = {
    status: 200,
    body: {
      status: 'approved',
      access_token: 'eyJ.stub-access',
      refresh_token: 'opr_stub-refresh',
      token_type: 'Bearer',
      expires_in: 3600,
    },
  };

  it('waits out a 429 for its Retry-After and rides out a 5xx, then signs in', async () => {
    const stub = await stubServer([
      { status: 200, body: { status: 'pending' } },
      { status: 429, body: { detail: 'slow down' }, headers: { 'retry-after': '1' } },
      { status: 503, body: { detail: 'restarting' } },
      approved,
    ]);
    const result = await run(stub.url);
    expect(result.code, result.stderr).toBe(0);
    expect(stub.pollTimes).toHaveLength(4);
    const [, throttledAt, retriedAt] = stub.pollTimes as [number, number, number];
    expect(retriedAt - throttledAt).toBeGreaterThanOrEqual(990);
    expect(result.stderr).toContain('throttling');
    expect(result.stdout).toBe(`Signed in to ${stub.url} as stub@example.com`);
    expect(readCredentials(result.dir)).toMatchObject({
      url: stub.url,
      access_token: 'eyJ.stub-access',
      refresh_token: 'opr_stub-refresh',
      user_id: 'u-1',
      org_id: 'o-1',
    });
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/stub-access|stub-refresh/);
  });

  it('stops on a 410 with the server detail', async () => {
    const stub = await stubServer([
      {
        status: 410,
        body: { code: 'cli_login_request_used', detail: 'This CLI login request has already been used.' },
      },
    ]);
    const result = await run(stub.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'orgplane login: the login request ended: This CLI login request has already been used.',
    );
    expect(existsSync(result.dir)).toBe(false);
  });

  it('gives up at expires_at while the server still says pending', async () => {
    const stub = await stubServer([], {
      status: 201,
      body: {
        request_id: '0190f1f2-0000-7000-8000-000000000002',
        secret: 'fl_clr_stub',
        verification_url: 'https://orgplane.example.com/cli-login?request_id=y&secret=fl_clr_stub',
        expires_at: new Date(Date.now() + 300).toISOString(),
      },
    });
    const started = Date.now();
    const result = await run(stub.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('orgplane login: the login request expired before it was approved');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stub.pollTimes.length).toBeGreaterThan(1);
  });

  it('says so when the address is not an Orgplane server', async () => {
    const stub = await stubServer([], { status: 201, body: { hello: 'world' } });
    const result = await run(stub.url);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `orgplane login: unexpected answer from ${stub.url} to the login request (is this an Orgplane server?)`,
    );
  });
});
