// The server and the `orgplane` CLI as real child processes, started the way the README starts
// them. How `npm start` / `npm run orgplane` launch the code is written down here once: a change
// to that (a build step, a launcher) is made in this file, not in every suite.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adminQuery } from './database.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');
export const SERVER_MAIN = path.join(REPO_ROOT, 'packages/server/src/main.ts');
export const CLI_MAIN = path.join(REPO_ROOT, 'packages/server/src/cli.ts');
/** The launcher: runs the compiled build of the current sources, building it first if needed (ADR 17). */
export const LAUNCHER = path.join(REPO_ROOT, 'packages/server/build/launch.mjs');

/** What `npm start` runs (package.json "start"), as argv for spawn(process.execPath, …). */
export const SERVER_ARGS = [LAUNCHER, 'main'] as const;
/** What `npm run orgplane --` runs (package.json "orgplane"), before the command's own arguments. */
export const CLI_ARGS = [LAUNCHER, 'cli'] as const;

const started: ChildProcess[] = [];

/** Kills every server process this module started that is still running (for afterAll). */
export function killStartedServers(): void {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

export interface ServerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts the server on a free port of 127.0.0.1 and waits until /readyz answers 200 (or fails
 * with its output). `env` is laid over this process's environment; pass `PORT` to choose the port.
 */
export async function startServerProcess(
  env: Record<string, string>,
  options: { readyTimeoutMs?: number } = {},
): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [...SERVER_ARGS], {
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/readyz`)).status === 200)
        return { child, url, port, output: () => output, exited };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not become ready:\n${output}`);
}

/** Runs the server expecting it to refuse to start: its exit code and what it wrote. */
export async function failedStart(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...SERVER_ARGS], {
    env: { ...process.env, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, output };
}

/** Runs `npm run orgplane -- <args>` (without npm's banner): exit code, stdout and stderr apart. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  child.stdin?.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

export interface ProcessDatabase {
  /** Environment for the server: an embedded data directory, or DATABASE_URL of a fresh schema. */
  env: Record<string, string>;
  /** The data directory (embedded and PostgreSQL alike: PostgreSQL nodes keep nothing in it). */
  dataDir: string;
  /** Removes the data directory and, on PostgreSQL, drops the schema. */
  drop(): Promise<void>;
}

/**
 * Where a server process keeps its data in this test project: a fresh embedded data directory, or
 * — in the `postgres` project — a fresh schema of TEST_DATABASE_URL (with its master key, which
 * PostgreSQL requires).
 */
export async function processDatabase(): Promise<ProcessDatabase> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-proc-'));
  const base = process.env.ORGPLANE_TEST_DB === 'postgres' ? process.env.TEST_DATABASE_URL : undefined;
  if (process.env.ORGPLANE_TEST_DB === 'postgres' && !base)
    throw new Error('the postgres test project needs TEST_DATABASE_URL');
  if (!base) {
    return {
      env: { ORGPLANE_DATA_DIR: dataDir, DATABASE_URL: '', ORGPLANE_MASTER_KEY: '' },
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const schema = `proc_${randomBytes(5).toString('hex')}`;
  await adminQuery(base, `CREATE SCHEMA ${schema}`);
  const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    env: {
      ORGPLANE_DATA_DIR: dataDir,
      DATABASE_URL: url,
      ORGPLANE_MASTER_KEY: randomBytes(32).toString('base64'),
    },
    dataDir,
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      await adminQuery(base, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

/** The processes whose parent is `pid`, with their command lines (Linux `ps`). */
export function childProcesses(pid: number): { pid: number; args: string }[] {
  let out = '';
  try {
    out = execFileSync('ps', ['--ppid', String(pid), '-o', 'pid=,args='], { encoding: 'utf8' });
  } catch {} // ps exits 1 when there are none
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, id, args] = /^\s*(\d+)\s+(.*)$/.exec(line) ?? [];
      return { pid: Number(id), args: args ?? '' };
    });
}
