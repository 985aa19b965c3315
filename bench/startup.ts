// Start-up time and memory of `npm start` as a user runs it (ADR 17): wall time from spawning
// `npm start` to the first /readyz 200, on a fresh embedded data directory, on an existing one, and
// on PostgreSQL; then the resident memory of the server and of the embedded database process.
//
//   node --import tsx bench/startup.ts      (npm run bench runs it too, after the load tests)
//   BENCH_STARTUP_RUNS   starts per case (default 5, 0–50; 0: none)
//   BENCH_DATABASE_URL   also on this PostgreSQL (loopback only), in a fresh schema dropped after
//
// Each case is started several times and reported as min / median / max: on a shared machine a
// start's wall time is mostly other processes' CPU, so the spread says how noisy the figures are.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { childProcesses } from '../test/server-process.ts';
import { markdownTable } from './markdown.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Start {
  /** npm start → /readyz 200, wall time. */
  readyMs: number;
  /** What the server logged as its own start (process start → listening). */
  serverMs: number | null;
  serverRssMb: number;
  databaseRssMb: number | null;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const rssMb = (pid: number) =>
  Math.round((Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024) / 1e6);

/** With BENCH_NODE, npm start (npm, its script, the server) runs on that Node, like server-child.ts's. */
const nodeOnPath = () =>
  process.env.BENCH_NODE ? { PATH: `${path.dirname(process.env.BENCH_NODE)}:${process.env.PATH}` } : {};

async function startOnce(env: Record<string, string>): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const npm: ChildProcess = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env,
      ...nodeOnPath(),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  npm.stdout?.on('data', (chunk) => (output += chunk));
  npm.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => npm.once('exit', resolve));
  try {
    let readyMs: number | null = null;
    while (readyMs === null) {
      if (npm.exitCode !== null || performance.now() - started > 120_000)
        throw new Error(`npm start did not become ready:\n${output.slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) readyMs = performance.now() - started;
      else await new Promise((r) => setTimeout(r, 20));
    }
    const server = childProcesses(npm.pid as number)[0]?.pid as number;
    const database = childProcesses(server).find((child) => /embedded-server\.(js|ts)/.test(child.args));
    // The log is written asynchronously (buffered): its line may come a moment after /readyz.
    for (let wait = 0; wait < 50 && !output.includes('"startupMs"'); wait++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const serverMs = /"startupMs":(\d+)/.exec(output)?.[1];
    return {
      readyMs,
      serverMs: serverMs ? Number(serverMs) : null,
      serverRssMb: rssMb(server),
      databaseRssMb: database ? rssMb(database.pid) : null,
    };
  } finally {
    try {
      process.kill(npm.pid as number, 'SIGTERM'); // npm forwards it; the server stops gracefully
    } catch {}
    await exited;
  }
}

interface Case {
  name: string;
  starts: Start[];
}

async function runCase(name: string, runs: number, envFor: (run: number) => Record<string, string>) {
  const starts: Start[] = [];
  for (let run = 0; run < runs; run++) starts.push(await startOnce(envFor(run)));
  return { name, starts };
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const spread = (values: number[], format: (value: number) => string = seconds) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return `${format(sorted[0]!)} / ${format(median)} / ${format(sorted[sorted.length - 1]!)}`;
};

/** Runs every case and returns the report section (markdown lines). */
export async function benchStartup(databaseUrl: string | null, runs: number): Promise<string[]> {
  if (runs === 0) return []; // BENCH_STARTUP_RUNS=0
  const cases: Case[] = [];
  const dirs: string[] = [];
  const dir = () => {
    const made = mkdtempSync(path.join(os.tmpdir(), 'orgplane-startup-'));
    dirs.push(made);
    return made;
  };
  try {
    const fresh = () => ({ ORGPLANE_DATA_DIR: dir(), DATABASE_URL: '', ORGPLANE_MASTER_KEY: '' });
    cases.push(await runCase('embedded, fresh data dir', runs, fresh));
    const existing = fresh();
    await startOnce(existing); // creates it
    cases.push(await runCase('embedded, existing data dir', runs, () => existing));
    if (databaseUrl) {
      const schema = `startup_${randomBytes(5).toString('hex')}`;
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      try {
        const url = `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
        const env = {
          ORGPLANE_DATA_DIR: dir(),
          DATABASE_URL: url,
          ORGPLANE_MASTER_KEY: randomBytes(32).toString('base64'),
        };
        // The first start migrates the empty schema; the ones measured find it migrated.
        cases.push(await runCase('PostgreSQL (first start: migrations)', 1, () => env));
        cases.push(await runCase('PostgreSQL', runs, () => env));
      } finally {
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      }
    }
  } finally {
    for (const made of dirs) rmSync(made, { recursive: true, force: true });
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
  const rows = cases.map((c) => [
    c.name,
    String(c.starts.length),
    spread(c.starts.map((s) => s.readyMs)),
    c.starts.every((s) => s.serverMs !== null) ? spread(c.starts.map((s) => s.serverMs!)) : '—',
    spread(
      c.starts.map((s) => s.serverRssMb),
      (mb) => String(mb),
    ),
    c.starts.every((s) => s.databaseRssMb !== null)
      ? spread(
          c.starts.map((s) => s.databaseRssMb!),
          (mb) => String(mb),
        )
      : '—',
  ]);
  return [
    '## Start-up (`npm start` → /readyz 200)',
    '',
    `Targets (issue 11, quiet machine): fresh embedded ≤ 3 s, existing ≤ 1.5 s. Load average at the end: ${load}.`,
    '',
    ...markdownTable(
      [
        ['case', 'left'],
        ['starts', 'right'],
        ['to /readyz, s (min / median / max)', 'right'],
        ['server’s own start, s', 'right'],
        ['server RSS, MB', 'right'],
        ['database process RSS, MB', 'right'],
      ],
      rows,
    ),
    '',
    'The server’s own start is process start → listening, as it logs it (`startupMs`); the rest of the',
    'wall time is npm’s own start and the first /readyz. RSS is read right after /readyz answered (MB = 10⁶ bytes).',
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const runs = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
  if (!Number.isInteger(runs) || runs < 0 || runs > 50) throw new Error('BENCH_STARTUP_RUNS must be 0–50');
  const lines = await benchStartup(process.env.BENCH_DATABASE_URL?.trim() || null, runs);
  process.stdout.write(`${lines.join('\n')}\n`);
}
