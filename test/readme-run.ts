// How test/readme.test.ts runs what it reads: shell steps with bash (curl and npm for real), the
// CLI login with its approval, and the openid-client example in its own Node process with a
// headless Chromium signing in on the hosted pages.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isolatedContext, launchChromium, signInAndAllow } from './browser.ts';
import { REPO_ROOT } from './server-process.ts';

const WAIT_MS = 30_000;
const STATUS_MARK = '\n__readme_http_status__';

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** For a curl step: the last response's status and body. */
  http?: { status: number; text: string };
}

export type Shell = (
  command: string,
  options?: {
    env?: Record<string, string>;
    stdin?: string;
    onStderr?: (all: string, kill: () => void) => void;
  },
) => Promise<ShellResult>;

/**
 * Runs `command` with bash in the repository root, as pasted into a terminal. curl is the real one,
 * only told to print the status after the body (the README's commands print bodies only).
 */
export const shell = (
  command: string,
  options: Parameters<Shell>[1] & { env?: Record<string, string> } = {},
): Promise<ShellResult> => {
  const script = [
    'set -o pipefail',
    `curl() { command curl --max-time 20 --write-out '${STATUS_MARK.replace('\n', '\\n')}%{http_code}' "$@"; }`,
    command,
  ].join('\n');
  const child = spawn('bash', ['-c', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: bash, npm and the program it runs are ended together.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {} // already gone
  };
  const timer = setTimeout(kill, WAIT_MS * 2);
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    options.onStderr?.(stderr, kill);
  });
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      const mark = stdout.lastIndexOf(STATUS_MARK);
      if (mark < 0) return resolve({ code, stdout, stderr });
      const status = Number(stdout.slice(mark + STATUS_MARK.length).trim());
      resolve({ code, stdout, stderr, http: { status, text: stdout.slice(0, mark).trim() } });
    }),
  );
};

/**
 * Runs a polling `orgplane login` and approves the request it prints as soon as it prints it; a
 * failed approval ends the CLI instead of leaving it waiting for ten minutes.
 */
export async function startCliLogin(
  run: Shell,
  command: string,
  configDir: string,
  approve: (requestId: string, secret: string) => Promise<void>,
): Promise<ShellResult> {
  let approval: Promise<void> | undefined;
  let failure: unknown;
  const result = await run(command, {
    env: { ORGPLANE_CONFIG_DIR: configDir },
    onStderr: (all, kill) => {
      const shown = /\/cli-login\?request_id=([^&\s]+)&secret=(\S+)/.exec(all);
      if (!shown || approval) return;
      approval = approve(
        decodeURIComponent(shown[1] as string),
        decodeURIComponent(shown[2] as string),
      ).catch((error) => {
        failure = error;
        kill();
      });
    },
  });
  await approval;
  if (failure) throw failure;
  if (!approval) throw new Error(`orgplane login printed no approval URL:\n${result.stderr}`);
  return result;
}

/** What the approval page does, through the API: check the request, then approve it. */
export async function approveCliLogin(
  api: (method: string, route: string, body?: unknown) => Promise<unknown>,
  requestId: string,
  secret: string,
): Promise<void> {
  const route = `/auth/cli-login-requests/${requestId}`;
  await api('GET', `${route}?secret=${encodeURIComponent(secret)}`);
  await api('POST', `${route}/token`, { secret });
}

export interface Whoami {
  email: string;
  organization: { id: string };
  scopes: string[];
}

/**
 * Runs the README's openid-client example as a module of its own. The reader supplies CLIENT_ID
 * and CLIENT_SECRET, sends the user to `url` and calls `onCallback` with the redirect's URL; here
 * Chromium is the user, and the redirect URI's domain is answered inside the browser.
 */
export async function runOpenidSnippet(
  code: string,
  options: {
    clientId: string;
    clientSecret: string;
    user: { email: string; password: string; orgId: string };
    serverHost: string;
    scratch: string[];
  },
): Promise<Whoami> {
  // Inside the repository's node_modules, so `import … from 'openid-client'` resolves as in an app.
  const dir = mkdtempSync(path.join(REPO_ROOT, 'node_modules', '.readme-snippet-'));
  options.scratch.push(dir);
  const file = path.join(dir, 'snippet.mjs');
  writeFileSync(
    file,
    [
      'const CLIENT_ID = process.env.README_CLIENT_ID;',
      'const CLIENT_SECRET = process.env.README_CLIENT_SECRET;',
      code,
      'console.log(JSON.stringify({ url: url.href }));',
      "const callbackUrl$ = await new Promise((resolve) => process.stdin.once('data', (d) => resolve(String(d).trim())));",
      'console.log(JSON.stringify({ whoami: await onCallback(callbackUrl$) }));',
      'process.exit(0);',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, README_CLIENT_ID: options.clientId, README_CLIENT_SECRET: options.clientSecret },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = async (index: number) => {
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      const lines = stdout.split('\n').filter(Boolean);
      if (lines.length > index) return JSON.parse(lines[index] as string);
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the openid-client example printed no line ${index + 1}:\n${stdout}\n${stderr}`);
  };

  const browser = await launchChromium();
  try {
    const { url } = (await line(0)) as { url: string };
    let callback: string | undefined;
    const offHost: string[] = [];
    const context = await isolatedContext(browser, {
      allowedHost: options.serverHost,
      offHost,
      intercept: (requested) => {
        if (requested.hostname !== 'app.example.com') return undefined;
        callback = requested.href;
        return { status: 200, body: 'signed in' };
      },
    });
    const page = await context.newPage();
    await page.goto(url);
    await signInAndAllow(page, options.user);
    const deadline = Date.now() + WAIT_MS;
    while (!callback && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!callback) throw new Error(`the browser never reached the redirect URI; it is at ${page.url()}`);
    if (offHost.length) throw new Error(`the hosted pages reached out to ${offHost.join(', ')}`);
    child.stdin.write(`${callback}\n`);
    const { whoami } = (await line(1)) as { whoami: Whoami };
    if ((await exited) !== 0) throw new Error(`the openid-client example failed:\n${stderr}`);
    return whoami;
  } finally {
    child.kill('SIGKILL');
    await browser.close();
  }
}
