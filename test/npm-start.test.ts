// `npm start` as users, Docker (CMD ["npm","start"]) and supervisors run it (ADR 17): a signal
// sent to npm's process stops the server; Ctrl-C (the terminal signals the whole process group,
// so the server hears it directly and again through npm) stops it gracefully, once; and the start
// is the compiled one, from the build's template, within loose time bounds.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from './harness.ts';
import { CLI_ARGS, childProcesses, freePort, REPO_ROOT } from './server-process.ts';

const dirs: string[] = [];
const groups: number[] = [];
afterAll(() => {
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {} // already gone
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface NpmStart {
  npm: ChildProcess;
  port: number;
  /** Wall time from spawning `npm start` to the first /readyz 200. */
  readyMs: number;
  output: () => string;
  exited: Promise<number | null>;
}

async function npmStart(dataDir: string): Promise<NpmStart> {
  const port = await freePort();
  const started = Date.now();
  // Its own process group, like a shell job: the test can signal npm alone or the whole group.
  const npm = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ORGPLANE_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  groups.push(npm.pid as number);
  let output = '';
  npm.stdout?.on('data', (chunk) => (output += chunk));
  npm.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
  while (Date.now() - started < 60_000 && npm.exitCode === null) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { npm, port, readyMs: Date.now() - started, output: () => output, exited };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`npm start did not become ready:\n${output}`);
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

/** The server under npm (npm execs node on the launcher: npm's only child) and its database process. */
function serverAndDatabase(npm: ChildProcess): { server: number; database: number } {
  const [server, ...others] = childProcesses(npm.pid as number);
  expect(others).toEqual([]);
  expect(server?.args).toMatch(/launch\.mjs main$/);
  const database = childProcesses(server!.pid).find((child) => /embedded-server\.js/.test(child.args));
  expect(database, 'the compiled database process').toBeDefined();
  return { server: server!.pid, database: database!.pid };
}

// The embedded database shows every part (lock, database process); PostgreSQL adds nothing here.
describe.runIf(!onPostgres)('npm start', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-npm-'));
  dirs.push(dataDir);

  beforeAll(async () => {
    // Brings the build up to date first (the launcher builds when the sources changed), so the
    // start measured below is the one `npm ci` prepares.
    execFileSync(process.execPath, [...CLI_ARGS, '--help'], { stdio: 'ignore' });
  }, 120_000);

  it('starts compiled, from the template, within loose bounds: ≤ 6 s fresh, ≤ 3 s on an existing data dir', async () => {
    // Targets are 3 s and 1.5 s on a quiet machine (README); the bounds are twice that, for a
    // loaded CI machine. What a regression would bring back is caught exactly instead: the
    // TypeScript path (tsx: +0.6–1.5 s), initdb at first start (2.3–3.6 s of CPU) or a rebuild.
    const fresh = await npmStart(dataDir);
    const { server, database } = serverAndDatabase(fresh.npm);
    expect(readFileSync(`/proc/${server}/cmdline`, 'utf8')).not.toContain('tsx');
    expect(readFileSync(`/proc/${database}/cmdline`, 'utf8')).not.toContain('tsx');
    expect(fresh.output()).toContain('copying the prepared database template');
    expect(fresh.output()).not.toMatch(/running initdb|through tsx|building them first/);
    process.kill(fresh.npm.pid as number, 'SIGTERM');
    expect(await fresh.exited).toBe(0);
    const existing: number[] = [];
    for (let i = 0; i < 3; i++) {
      const again = await npmStart(dataDir);
      existing.push(again.readyMs);
      process.kill(again.npm.pid as number, 'SIGTERM');
      expect(await again.exited).toBe(0);
    }
    console.log(`npm start → /readyz: fresh ${fresh.readyMs} ms, existing ${existing.join(', ')} ms`);
    expect(fresh.readyMs).toBeLessThanOrEqual(6_000);
    expect(Math.min(...existing)).toBeLessThanOrEqual(3_000);
  }, 120_000);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to npm's process stops the server: port free, lock released, database process gone, exit 0`, async () => {
      const started = await npmStart(dataDir);
      const { server, database } = serverAndDatabase(started.npm);
      process.kill(started.npm.pid as number, signal);
      expect(await started.exited, started.output().slice(-2000)).toBe(0);
      // npm waits for the server, which waits for its database process.
      expect(running(server)).toBe(false);
      expect(running(database)).toBe(false);
      expect(await portFree(started.port)).toBe(true);
      expect(existsSync(path.join(dataDir, 'orgplane.lock'))).toBe(false);
      expect(started.output()).toContain(`"signal":"${signal}","msg":"shutting down"`);
    }, 60_000);
  }

  it('Ctrl-C (SIGINT to the whole process group, heard twice by the server) stops it gracefully once', async () => {
    const started = await npmStart(dataDir);
    const { server } = serverAndDatabase(started.npm);
    process.kill(-(started.npm.pid as number), 'SIGINT');
    expect(await started.exited, started.output().slice(-2000)).toBe(0);
    expect(running(server)).toBe(false);
    expect(started.output()).not.toContain('second SIGINT');
    expect(started.output().match(/"msg":"shutting down"/g)).toHaveLength(1);
    expect(existsSync(path.join(dataDir, 'orgplane.lock'))).toBe(false);
  }, 60_000);
});
