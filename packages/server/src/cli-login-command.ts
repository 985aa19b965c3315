// `orgplane login`: the CLI side of the request-bound CLI login (seed 003; issue 4, point 5). A plain
// HTTP client of a running Orgplane — it never opens a database or reads the server's config:
//
//   orgplane login --url <platform-url> [--name <client name>]
//     opens a login request (POST /api/v1/auth/cli-login-requests), shows its verification URL, and
//     polls (POST …/{request_id}/poll, every 2 s, honouring 429 Retry-After) until a signed-in user
//     approves it in a browser — or it expires, or the server ends it (410/404): exit 1.
//   orgplane login --url <platform-url> --token <fl_clt_…>
//     redeems the one-time token the approval showed (POST /api/v1/auth/cli-login), for a CLI that
//     could not poll.
//
// The sign-in (checked with GET /api/v1/auth/whoami) is kept in
// ${ORGPLANE_CONFIG_DIR:-${XDG_CONFIG_HOME:-~/.config}/orgplane}/credentials.json: directory 0700,
// file 0600, replaced atomically (temp file + rename). Tokens are never printed.
// Exit codes: 0 signed in, 1 failed, 64 usage.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

export const LOGIN_USAGE =
  'usage: orgplane login --url <platform-url> [--token <one-time-token>] [--name <client name>]';

const HELP = `${LOGIN_USAGE}

Signs in to a running Orgplane and keeps the sign-in in credentials.json.
  --url    the server's address, e.g. https://orgplane.example.com
  --token  the one-time fl_clt_ token shown when the login was approved (for a CLI that cannot poll)
  --name   what the approving user sees as the requesting client (default: this host's name)
Without --token, it shows a URL to open in a browser where you are signed in, and waits for approval.
Credentials go to $ORGPLANE_CONFIG_DIR, else \${XDG_CONFIG_HOME:-~/.config}/orgplane.`;

const POLL_INTERVAL_MS = 2_000;
const REQUEST_TIMEOUT_MS = 30_000;
const CLOCK_SKEW_IGNORED_MS = 5_000;
/** Network errors and 5xx answers in a row that polling rides out (a restarting server) before giving up. */
const TRANSIENT_FAILURES_TOLERATED = 5;
/** The server's bounds on `client_name`. */
const CLIENT_NAME_MAX = 100;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters refused.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters removed.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;
const ONE_TIME_TOKEN_PREFIX = 'fl_clt_';

export interface LoginIo {
  env: NodeJS.ProcessEnv;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Between polls (2 s); tests shorten it. */
  pollIntervalMs?: number;
}

const processIo: LoginIo = {
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

class UsageError extends Error {}
/** A failure, said in one line. */
class LoginError extends Error {}

export interface StoredCredentials {
  url: string;
  access_token: string;
  refresh_token: string;
  /** When the access token expires (RFC 3339). */
  expires_at: string;
  user_id: string;
  email: string;
  org_id: string | null;
}

/** Runs `orgplane login <args>`; resolves to the exit code. */
export async function runLoginCommand(args: string[], io: LoginIo = processIo): Promise<number> {
  try {
    const options = parseLoginArgs(args);
    if (options === 'help') {
      io.stdout(HELP);
      return 0;
    }
    if (options.url.protocol === 'http:' && !isLoopback(options.url.hostname)) {
      io.stderr(`warning: ${options.base} is not HTTPS: the tokens will cross the network unencrypted`);
    }
    const tokens = options.token
      ? await redeem(options.base, options.token)
      : await waitForApproval(options.base, options.name, io);
    const who = await whoami(options.base, tokens.access_token);
    const credentials: StoredCredentials = {
      url: options.base,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      expires_at: tokens.expires_at,
      user_id: who.user_id,
      email: who.email,
      org_id: who.org_id,
    };
    const file = saveCredentials(credentialsDir(io.env), credentials);
    io.stdout(`Signed in to ${options.base} as ${who.email}`);
    io.stderr(`Credentials saved to ${file}`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`orgplane login: ${error.message}\n${LOGIN_USAGE}`);
      return 64;
    }
    io.stderr(`orgplane login: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

// ── arguments ────────────────────────────────────────────────────────────────────────────────

interface LoginOptions {
  url: URL;
  /** The server's address without a trailing slash: API paths are appended to it. */
  base: string;
  token?: string;
  name: string;
}

function parseLoginArgs(args: string[]): LoginOptions | 'help' {
  let values: { url?: string; token?: string; name?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  if (!values.url)
    throw new UsageError('--url is required (the Orgplane server, e.g. https://orgplane.example.com)');
  const url = parsePlatformUrl(values.url);
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  let token: string | undefined;
  if (values.token !== undefined) {
    token = values.token.trim();
    if (!token.startsWith(ONE_TIME_TOKEN_PREFIX)) {
      throw new UsageError(
        `--token takes the one-time ${ONE_TIME_TOKEN_PREFIX}… token shown when the login was approved`,
      );
    }
    if (values.name !== undefined) throw new UsageError('--name applies only without --token');
  }
  let name: string;
  if (values.name !== undefined) {
    name = values.name.trim();
    if (!name || name.length > CLIENT_NAME_MAX || CONTROL_CHARACTER.test(name)) {
      throw new UsageError(`--name must be 1–${CLIENT_NAME_MAX} characters, without control characters`);
    }
  } else {
    name = hostname().replace(CONTROL_CHARACTERS, '').slice(0, CLIENT_NAME_MAX);
  }
  return { url, base, ...(token ? { token } : {}), name };
}

function parsePlatformUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `--url ${JSON.stringify(value)} is not a URL (expected e.g. https://orgplane.example.com)`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--url must be an http:// or https:// address, not ${url.protocol}`);
  }
  if (url.username || url.password) throw new UsageError('--url must not carry a user name or password');
  if (url.search || url.hash)
    throw new UsageError('--url must be the server address, without ?query or #fragment');
  return url;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// ── HTTP ─────────────────────────────────────────────────────────────────────────────────────

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field.
  body: any;
}

/** A network-level failure (nothing answered): polling may ride it out. */
class NetworkError extends LoginError {}

async function call(
  base: string,
  method: 'GET' | 'POST',
  route: string,
  options: { body?: unknown; token?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'orgplane-cli' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const response = await fetch(`${base}${route}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      // A redirect would resend the request (and its token) elsewhere: say so instead.
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      throw new LoginError(
        `${base} redirects${location ? ` to ${location}` : ''}: pass the address it redirects to as --url`,
      );
    }
    return { status: response.status, headers: response.headers, body };
  } catch (error) {
    if (error instanceof LoginError) throw error;
    throw new NetworkError(describeNetworkError(base, error));
  }
}

function describeNetworkError(base: string, error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `${base} did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  }
  const cause =
    error instanceof Error
      ? (error.cause as (Error & { code?: string; errors?: unknown[] }) | undefined)
      : undefined;
  // Connecting to a name with several addresses fails with an AggregateError of one error each.
  const first = (cause?.errors?.[0] ?? cause) as (Error & { code?: string }) | undefined;
  const code = cause?.code ?? first?.code;
  const host = new URL(base).host;
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot reach ${base}: connection refused (is Orgplane running there?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot reach ${base}: host ${new URL(base).hostname} not found`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `cannot reach ${base}: the connection was closed`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `cannot reach ${base}: connecting to ${host} timed out`;
  }
  const message =
    first?.message || cause?.message || (error instanceof Error ? error.message : String(error));
  return `cannot reach ${base}: ${message}`;
}

/** The problem+json `detail`, or the status when the server said nothing readable. */
function detailOf(answer: Answer): string {
  const detail = answer.body && typeof answer.body === 'object' ? answer.body.detail : undefined;
  return typeof detail === 'string' && detail ? detail : `the server answered HTTP ${answer.status}`;
}

function unexpected(base: string, what: string): LoginError {
  return new LoginError(`unexpected answer from ${base} to ${what} (is this an Orgplane server?)`);
}

const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

// ── signing in ───────────────────────────────────────────────────────────────────────────────

interface SignIn {
  access_token: string;
  refresh_token: string;
  expires_at: string;
}

function signInFrom(base: string, body: unknown, what: string): SignIn {
  const tokens = body as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown };
  if (
    !isString(tokens?.access_token) ||
    !isString(tokens.refresh_token) ||
    typeof tokens.expires_in !== 'number'
  ) {
    throw unexpected(base, what);
  }
  return {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: new Date(Date.now() + tokens.expires_in * 1000).toISOString(),
  };
}

async function redeem(base: string, token: string): Promise<SignIn> {
  const answer = await call(base, 'POST', '/api/v1/auth/cli-login', { body: { token } });
  if (answer.status !== 200)
    throw new LoginError(`sign-in with the one-time token refused: ${detailOf(answer)}`);
  return signInFrom(base, answer.body, 'the token redemption');
}

async function waitForApproval(base: string, clientName: string, io: LoginIo): Promise<SignIn> {
  const created = await call(base, 'POST', '/api/v1/auth/cli-login-requests', {
    body: clientName ? { client_name: clientName } : {},
  });
  if (created.status === 404) {
    throw new LoginError(
      `${base} has no CLI login endpoint (${detailOf(created)}): --url takes the server's base address, e.g. https://orgplane.example.com`,
    );
  }
  if (created.status !== 201) throw new LoginError(`could not start a login: ${detailOf(created)}`);
  const request = created.body as {
    request_id?: unknown;
    secret?: unknown;
    verification_url?: unknown;
    expires_at?: unknown;
  };
  const expiresAt = Date.parse(String(request?.expires_at));
  if (
    !isString(request?.request_id) ||
    !isString(request.secret) ||
    !isString(request.verification_url) ||
    Number.isNaN(expiresAt)
  ) {
    throw unexpected(base, 'the login request');
  }
  // Stop by the server's clock: a local clock running ahead would otherwise give up early. (The Date
  // header counts whole seconds, so a skew of a few seconds is noise and ignored.)
  const serverNow = Date.parse(created.headers.get('date') ?? '');
  const skew = Number.isNaN(serverNow) ? 0 : Date.now() - serverNow;
  const deadline = expiresAt + (Math.abs(skew) > CLOCK_SKEW_IGNORED_MS ? skew : 0);
  const minutes = Math.max(1, Math.round((deadline - Date.now()) / 60_000));
  io.stderr(`Open this URL in a browser where you are signed in to approve: ${request.verification_url}`);
  io.stderr(
    `The request expires in ${minutes} minute${minutes === 1 ? '' : 's'} (at ${new Date(deadline).toLocaleTimeString()}). Waiting for approval… (Ctrl-C to cancel)`,
  );

  const route = `/api/v1/auth/cli-login-requests/${encodeURIComponent(request.request_id)}/poll`;
  const expired = () =>
    new LoginError('the login request expired before it was approved; run `orgplane login` again');
  let failures = 0;
  let throttledNoted = false;
  const interval = io.pollIntervalMs ?? POLL_INTERVAL_MS;
  let wait = interval;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw expired();
    // The last poll falls on the deadline: the server has the final word on a just-in-time approval.
    await sleep(Math.min(wait, left));
    wait = interval;
    let answer: Answer | undefined;
    try {
      answer = await call(base, 'POST', route, { body: { secret: request.secret } });
    } catch (error) {
      if (!(error instanceof NetworkError) || ++failures > TRANSIENT_FAILURES_TOLERATED) throw error;
      if (failures === 1) io.stderr(`${error.message}; still trying…`);
    }
    if (answer) {
      if (answer.status === 200 && answer.body?.status === 'approved') {
        return signInFrom(base, answer.body, 'the poll');
      }
      if (answer.status === 200 && answer.body?.status === 'pending') {
        failures = 0;
        if (Date.now() >= deadline) throw expired();
      } else if (answer.status === 429) {
        wait = Math.max(wait, retryAfterMs(answer.headers.get('retry-after')));
        if (!throttledNoted)
          io.stderr(`The server is throttling polls; waiting ${Math.ceil(wait / 1000)} s.`);
        throttledNoted = true;
      } else if (answer.status >= 500) {
        if (++failures > TRANSIENT_FAILURES_TOLERATED)
          throw new LoginError(`polling failed: ${detailOf(answer)}`);
        if (failures === 1) io.stderr(`The server answered HTTP ${answer.status}; still trying…`);
      } else if (answer.status === 410 && answer.body?.code === 'cli_login_request_expired') {
        throw expired();
      } else if (answer.status === 410) {
        throw new LoginError(`the login request ended: ${detailOf(answer)}`);
      } else if (answer.status === 404) {
        throw new LoginError(`the login request is gone: ${detailOf(answer)} Run \`orgplane login\` again.`);
      } else if (answer.status === 200) {
        throw unexpected(base, 'the poll');
      } else {
        throw new LoginError(`the login was refused: ${detailOf(answer)}`);
      }
    }
  }
}

function retryAfterMs(header: string | null): number {
  if (!header) return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function whoami(
  base: string,
  accessToken: string,
): Promise<{ user_id: string; email: string; org_id: string | null }> {
  const answer = await call(base, 'GET', '/api/v1/auth/whoami', { token: accessToken });
  if (answer.status !== 200) throw new LoginError(`signed in, but whoami failed: ${detailOf(answer)}`);
  const body = answer.body as { user_id?: unknown; email?: unknown; organization?: { id?: unknown } | null };
  if (!isString(body?.user_id) || !isString(body.email)) throw unexpected(base, 'whoami');
  const orgId = body.organization?.id;
  return { user_id: body.user_id, email: body.email, org_id: isString(orgId) ? orgId : null };
}

// ── credentials.json ─────────────────────────────────────────────────────────────────────────

/** `$ORGPLANE_CONFIG_DIR`, else `${XDG_CONFIG_HOME:-~/.config}/orgplane` (a relative XDG path is ignored, as the spec says). */
export function credentialsDir(env: NodeJS.ProcessEnv): string {
  if (env.ORGPLANE_CONFIG_DIR) return path.resolve(env.ORGPLANE_CONFIG_DIR);
  const xdg = env.XDG_CONFIG_HOME;
  const configHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(homedir(), '.config');
  return path.join(configHome, 'orgplane');
}

/** Replaces `<dir>/credentials.json` atomically: a 0600 temp file in the same directory, renamed over it. */
function saveCredentials(dir: string, credentials: StoredCredentials): string {
  const file = path.join(dir, 'credentials.json');
  const temp = path.join(dir, `.credentials.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The directory holds secrets only: nobody else may list or enter it, whatever it was before.
    chmodSync(dir, 0o700);
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(credentials, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
    return file;
  } catch (error) {
    rmSync(temp, { force: true });
    const reason = error instanceof Error ? error.message : String(error);
    throw new LoginError(`signed in, but could not save the credentials to ${file}: ${reason}`);
  }
}
