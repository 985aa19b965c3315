// Orgplane's hot paths under load, each reported as a ratio to a bare node:http server measured in
// the same run (project rule: performance is measured, not assumed).
//
//   npm run bench                                      # PGlite only
//   BENCH_DATABASE_URL=postgres://root@127.0.0.1:5432/test npm run bench   # + PostgreSQL
//   BENCH_SCALE=1 npm run bench                        # + whoami with 1,000,000 API keys stored
//
// Process layout: this process is only the load generator (autocannon). Every server under test,
// the bare node:http baseline included, runs in its own child process (bench/servers/*.ts, forked
// with an IPC channel), so the load generator and the server never share an event loop: on this
// 2-core machine each gets a core of its own, and a server's req/s is not capped by the load
// generator's JavaScript running between its requests. The IPC channel also lets this process read
// the child's CPU time and peak RSS around a run, start/stop a V8 CPU profile exactly around the
// measured window (never the warmup or the setup), and (scale) bulk-insert rows through the
// child's own database handle.
//
// Environment (all optional):
//   BENCH_DURATION      seconds measured per path (default 5, 1–60)
//   BENCH_WARMUP        seconds of discarded load before each path (default 2, 0–30)
//   BENCH_CONNECTIONS   concurrent connections (default 10, 1–256)
//   BENCH_DATABASE_URL  also run Orgplane on this PostgreSQL (loopback only), in a fresh schema
//                       that is dropped afterwards
//   BENCH_PATHS         comma list of paths to run: healthz, whoami-jwt, whoami-key, workspaces,
//                       token, login (default: all of these), scale (opt-in, minutes)
//   BENCH_SCALE=1       also run `scale`: whoami with API keys at 1,000 and 1,000,000 keys stored
//   BENCH_SCALE_ROWS    rows in api_keys for the large half of `scale` (default 1000000)
//   BENCH_PROFILE=1     CPU-profile the Orgplane server during each measured path; writes
//                       bench/results/profiles/*.cpuprofile and appends a summary. The profiler
//                       slows the server down: figures from such a run are not the benchmark's.
//   BENCH_NODE          the Node binary every server child runs on (bare node:http, Orgplane, and so
//                       the embedded database process Orgplane starts); default: the one running this
//   BENCH_SERVER_NODE_FLAGS  extra Node/V8 flags for the server children only (experiments)
//   BENCH_LOGGING       default, silent, or both (the default): each Orgplane server runs first
//                       as `npm start` logs (LOG_LEVEL unset = info, stdout to a file), then with
//                       LOG_LEVEL=silent (bench/logging.ts)
//
// Load goes only to 127.0.0.1, every run is bounded by BENCH_DURATION, and the whole run by a
// watchdog; the output is a markdown table on stdout and in bench/results/latest.md, with each
// issue target (a ratio to bare node:http, or the scale run's p99 and RSS bounds) marked PASS/FAIL.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import {
  type CostResult,
  type LoggingMode,
  logFileStats,
  loggingCosts,
  loggingModes,
  modeEnv,
  modeLabel,
  openLogFile,
  RATIO_TARGETS,
} from './logging.ts';
import { markdownTable } from './markdown.ts';
import { formatSummary, loadProfile, summariseProfile } from './profile-summary.ts';
import type { ChildMessage, ControlCommand, MemoryReport } from './servers/control.ts';
import { benchStartup } from './startup.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const SERVER_NODE_FLAGS = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const SERVER_NODE = process.env.BENCH_NODE?.trim() || process.execPath;
const SERVER_NODE_VERSION = execFileSync(SERVER_NODE, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
const RESULTS_DIR = path.join(BENCH_DIR, 'results');
const PROFILES_DIR = path.join(RESULTS_DIR, 'profiles');

// ── settings ──────────────────────────────────────────────────────────────────────────────────

function intSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

const PATH_KEYS = ['healthz', 'whoami-jwt', 'whoami-key', 'workspaces', 'token', 'login', 'scale'] as const;
type PathKey = (typeof PATH_KEYS)[number];
/** Not in the default run: `scale` fills a table with a million rows, twice (see README). */
const OPT_IN: readonly PathKey[] = ['scale'];
/** Older names still accepted. */
const ALIASES: Record<string, PathKey> = { whoami: 'whoami-jwt' };

const flag = (name: string) => ['1', 'true', 'yes'].includes((process.env[name] ?? '').toLowerCase());

const settings = {
  duration: intSetting('BENCH_DURATION', 5, 1, 60),
  warmup: intSetting('BENCH_WARMUP', 2, 0, 30),
  connections: intSetting('BENCH_CONNECTIONS', 10, 1, 256),
  databaseUrl: process.env.BENCH_DATABASE_URL?.trim() || null,
  profile: flag('BENCH_PROFILE'),
  paths: selectedPaths(process.env.BENCH_PATHS, flag('BENCH_SCALE')),
  scaleRows: intSetting('BENCH_SCALE_ROWS', 1_000_000, 10_000, 10_000_000),
  logging: loggingModes(process.env.BENCH_LOGGING),
};

function selectedPaths(raw: string | undefined, scale: boolean): PathKey[] {
  const wanted = raw?.trim()
    ? raw.split(',').map((key) => ALIASES[key.trim()] ?? key.trim())
    : PATH_KEYS.filter((key) => !OPT_IN.includes(key));
  if (scale) wanted.push('scale');
  for (const key of wanted) {
    if (!(PATH_KEYS as readonly string[]).includes(key)) {
      throw new Error(`BENCH_PATHS: unknown path "${key}" (known: ${PATH_KEYS.join(', ')})`);
    }
  }
  return PATH_KEYS.filter((key) => wanted.includes(key));
}

/** The paths measured on the one server per backend (scale runs its own servers). */
const loadPaths = () => settings.paths.filter((key) => key !== 'scale');

// ── targets (issue 3) ─────────────────────────────────────────────────────────────────────────

/** Scale: whoami (API key) p99 with the large table at most this multiple of the small one's. */
const SCALE_P99_TARGET = 1.2;
/** Scale: the server's peak RSS under that load at most this. */
const SCALE_RSS_TARGET_MB = 200;
/** Scale: real keys (made through the API) rotated across requests; rows in the small table. */
const SCALE_KEYS = 200;
const SCALE_SMALL_ROWS = 1_000;
/** Bulk rows per insert statement (each one IPC call), so no statement holds a million rows. */
const SCALE_BATCH = 100_000;

const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');

/** Load tests stay on this machine: the database, too, must be on a loopback address or socket. */
function assertLoopbackDatabase(url: string): void {
  const parsed = new URL(url);
  const hosts = [parsed.hostname, parsed.searchParams.get('host') ?? ''].map((host) =>
    decodeURIComponent(host).replace(/^\[|\]$/g, ''),
  );
  for (const host of hosts) {
    const local = host === '' || host.startsWith('/') || host === 'localhost' || host === '::1';
    if (!local && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
      throw new Error(`BENCH_DATABASE_URL must point at this machine (loopback or socket), not "${host}"`);
    }
  }
}

// ── server children ───────────────────────────────────────────────────────────────────────────

/** 1-minute load average when the run started (it lags: other work that just ended still shows). */
const loadAtStart = os.loadavg()[0] ?? 0;
/** Share of all cores busy during one second before the run; above this, figures are suspect. */
const BUSY_SHARE = 0.2;
const DRIFT_WARNING = 0.15;

/** Busy share of all cores over `ms` (Linux /proc/stat), or null where that cannot be read. */
async function cpuBusyShare(ms: number): Promise<number | null> {
  const sample = () => {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    return { idle, total: fields.reduce((sum, value) => sum + value, 0) };
  };
  try {
    const first = sample();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const second = sample();
    const total = second.total - first.total;
    return total > 0 ? 1 - (second.idle - first.idle) / total : null;
  } catch {
    return null;
  }
}

let busyAtStart: number | null = null;

const cleanups: Array<() => Promise<void>> = [];

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0)
    await cleanups
      .pop()?.()
      .catch(() => undefined);
}

class ServerChild {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  private exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'reply') return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`${name}: ${message.error}`));
    });
    child.once('exit', (code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${code})`));
      this.pending.clear();
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** `stdout`: a file descriptor for the child's stdout (its logs), else this process's. */
  static start(name: string, script: string, env: NodeJS.ProcessEnv, stdout?: number): Promise<ServerChild> {
    const child = fork(path.join(BENCH_DIR, 'servers', script), [], {
      execPath: SERVER_NODE,
      execArgv: [...SERVER_NODE_FLAGS, '--import', 'tsx'],
      env,
      stdio: ['ignore', stdout ?? 'inherit', 'inherit', 'ipc'],
    });
    const kill = async () => void child.kill('SIGKILL');
    cleanups.push(kill);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not start within 120 s`));
      }, 120_000);
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(new ServerChild(name, child, message.port));
        } else if (message.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`${name} failed to start: ${message.error}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code}) before it was ready`));
      });
    });
  }

  call<T>(command: ControlCommand, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${command.cmd} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ id, command });
    });
  }

  /** Asks the child to close (server, database) and exit; kills it if it has not within 15 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await this.call({ cmd: 'stop' }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ── measuring ─────────────────────────────────────────────────────────────────────────────────

interface Target {
  key: PathKey | 'bare';
  label: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Requests every connection sends in turn instead (the scale run's rotating keys). */
  requests?: Array<{ method: 'GET' | 'POST'; path: string; headers: Record<string, string> }>;
  /** The target: req/s at least this share of bare node:http's. */
  goal?: number;
  /** Names the profile file (default: the key). */
  slug?: string;
  /** Login is bound by argon2id on purpose: only its throughput is reported. */
  reportLatency: boolean;
  /** A single request's answer must pass this before load is sent (a 401 benchmarks nothing). */
  check(status: number, body: unknown): string | null;
}

interface Measurement {
  backend: string;
  /** Orgplane's logging configuration in this window (bare node:http logs nothing). */
  mode?: LoggingMode;
  target: Target;
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, { count: number }>;
  serverCpuMicrosPerRequest: number;
  /** Of which in the kernel (system time: socket writes and reads, loopback TCP included). */
  serverSystemMicrosPerRequest: number;
  serverCpuShare: number;
  databaseCpuMicrosPerRequest: number | null;
  loadgenCpuShare: number;
  /** CPU used by every other process on the machine during the window, as a share of one core. */
  otherCpuShare: number | null;
  /** The server's peak resident memory during the measured window (VmHWM, reset before it). */
  peakRss: number | null;
  /** The embedded database process's, likewise; null on PostgreSQL (its backends share memory). */
  databasePeakRss: number | null;
  profileFile: string | null;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function load(server: ServerChild, target: Target, seconds: number, latencies?: number[]) {
  const instance = autocannon({
    url: `${server.url}${target.path}`,
    method: target.method,
    ...(target.headers ? { headers: target.headers } : {}),
    ...(target.body !== undefined ? { body: target.body } : {}),
    ...(target.requests ? { requests: target.requests } : {}),
    connections: settings.connections,
    duration: seconds,
    timeout: 10,
  });
  // autocannon's own latency histogram has 1 ms resolution, too coarse for sub-ms answers.
  if (latencies) instance.on('response', (_client, _status, _bytes, ms) => void latencies.push(ms));
  return await instance;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** One process's /proc/<pid>/stat fields after the command name, and the name; null if gone. */
function procStat(pid: string): { name: string; fields: string[] } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = stat.lastIndexOf(')');
  return { name: stat.slice(stat.indexOf('(') + 1, close), fields: stat.slice(close + 2).split(' ') };
}

/** The pids of `parent`'s child processes (Linux /proc); empty where unreadable. */
function childPids(parent: number | undefined): string[] {
  if (parent === undefined) return [];
  try {
    return readdirSync('/proc').filter(
      (entry) => /^\d+$/.test(entry) && procStat(entry)?.fields[1] === String(parent),
    );
  } catch {
    return [];
  }
}

/** CPU time of these processes in µs (Linux /proc), or null when unreadable. */
function processesCpuMicros(pids: string[]): number | null {
  let ticks = 0;
  for (const pid of pids) {
    const stat = procStat(pid);
    if (stat) ticks += Number(stat.fields[11]) + Number(stat.fields[12]); // utime, stime
  }
  return pids.length === 0 ? null : (ticks * 1e6) / CLOCK_TICKS;
}

/**
 * The embedded database's process (ADR 14: PGlite runs in a child of the server): its pids, to
 * count its CPU and memory as the database's rather than as "other" processes'.
 */
function embeddedDatabasePids(server: ServerChild): string[] {
  return childPids(server.pid);
}

/** VmHWM of these processes, summed (bytes), after `resetPeaks` cleared them; null if unreadable. */
function processesPeakRss(pids: string[]): number | null {
  let total = 0;
  for (const pid of pids) {
    try {
      const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb) total += Number(kb) * 1000;
    } catch {}
  }
  return total > 0 ? total : null;
}

/** Resets these processes' VmHWM to their current RSS (writing 5 to clear_refs), as control.ts does. */
function resetPeaks(pids: string[]): void {
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {}
  }
}

/** CPU time of every local `postgres` process in µs (Linux /proc), or null when unreadable. */
function postgresCpuMicros(): number | null {
  try {
    let ticks = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    }
    return (ticks * 1e6) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** User+system CPU time of the whole machine in µs (Linux /proc/stat), or null when unreadable. */
function machineCpuMicros(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (((fields[0] ?? 0) + (fields[1] ?? 0) + (fields[2] ?? 0)) * 1e6) / CLOCK_TICKS; // user, nice, system
  } catch {
    return null;
  }
}

/** Above this share of one core used by other processes during a measured window, flag the row. */
const OTHER_CPU_WARNING = 0.1;

async function measure(backend: string, server: ServerChild, target: Target): Promise<Measurement> {
  const probe = await fetch(`${server.url}${target.path}`, {
    method: target.method,
    headers: target.headers ?? {},
    ...(target.body !== undefined ? { body: target.body } : {}),
  });
  const probeText = await probe.text();
  let probeBody: unknown = probeText;
  try {
    probeBody = JSON.parse(probeText);
  } catch {}
  const problem = target.check(probe.status, probeBody);
  if (problem) throw new Error(`${backend} ${target.label}: ${problem} (HTTP ${probe.status}: ${probeText})`);

  process.stderr.write(`  ${backend} · ${target.label}: warmup ${settings.warmup} s, `);
  if (settings.warmup > 0) await load(server, target, settings.warmup);
  process.stderr.write(`measuring ${settings.duration} s… `);

  let profileFile: string | null = null;
  const profiling = settings.profile && target.key !== 'bare';
  if (profiling) await server.call({ cmd: 'profile-start', intervalMicros: 250 });
  // PostgreSQL: every local postgres process; embedded: the server's database child process.
  const embeddedPids = backend.includes('PGlite') ? embeddedDatabasePids(server) : null;
  const databaseCpu = () =>
    embeddedPids
      ? processesCpuMicros(embeddedPids)
      : backend.includes('PostgreSQL')
        ? postgresCpuMicros()
        : null;
  await server.call({ cmd: 'memory-reset-peak' });
  if (embeddedPids) resetPeaks(embeddedPids);
  const latencies: number[] = [];
  const serverCpuBefore = await server.call<NodeJS.CpuUsage>({ cmd: 'cpu' });
  const databaseCpuBefore = databaseCpu();
  const machineCpuBefore = machineCpuMicros();
  const loadgenCpuBefore = process.cpuUsage();
  const wallBefore = process.hrtime.bigint();
  const result = await load(server, target, settings.duration, latencies);
  const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1000;
  const loadgenCpu = process.cpuUsage(loadgenCpuBefore);
  const databaseCpuAfter = databaseCpu();
  const serverCpuAfter = await server.call<NodeJS.CpuUsage>({ cmd: 'cpu' });
  const machineCpuAfter = machineCpuMicros();
  const memory = await server.call<MemoryReport>({ cmd: 'memory' });
  if (profiling) {
    mkdirSync(PROFILES_DIR, { recursive: true });
    const slug = `${backend}-${target.slug ?? target.key}`.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    profileFile = await server.call<string>({
      cmd: 'profile-stop',
      file: path.join(PROFILES_DIR, `${slug}.cpuprofile`),
    });
  }

  const requests = result.requests.total;
  if (profileFile) {
    const meta = { backend, path: target.label, requests, seconds: result.duration };
    writeFileSync(profileFile.replace(/\.cpuprofile$/, '.json'), `${JSON.stringify(meta, null, 2)}\n`);
  }
  const serverCpuMicros =
    serverCpuAfter.user + serverCpuAfter.system - serverCpuBefore.user - serverCpuBefore.system;
  const sorted = Float64Array.from(latencies).sort();
  const databaseCpuMicros =
    // A postgres process that exits during the window (another client disconnecting) takes its
    // CPU time with it: never below zero.
    databaseCpuBefore !== null && databaseCpuAfter !== null
      ? Math.max(0, databaseCpuAfter - databaseCpuBefore)
      : null;
  const ownCpuMicros = loadgenCpu.user + loadgenCpu.system + serverCpuMicros + (databaseCpuMicros ?? 0);
  const measurement: Measurement = {
    backend,
    target,
    requests,
    seconds: result.duration,
    rps: requests / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes: result.statusCodeStats,
    serverCpuMicrosPerRequest: serverCpuMicros / Math.max(1, requests),
    serverSystemMicrosPerRequest: (serverCpuAfter.system - serverCpuBefore.system) / Math.max(1, requests),
    serverCpuShare: serverCpuMicros / wallMicros,
    databaseCpuMicrosPerRequest:
      databaseCpuMicros === null ? null : databaseCpuMicros / Math.max(1, requests),
    loadgenCpuShare: (loadgenCpu.user + loadgenCpu.system) / wallMicros,
    otherCpuShare:
      machineCpuBefore !== null && machineCpuAfter !== null
        ? Math.max(0, machineCpuAfter - machineCpuBefore - ownCpuMicros) / wallMicros
        : null,
    // Without a resettable peak, VmHWM is the peak since start: report the current RSS instead.
    peakRss: memory.peakResettable ? memory.peakRss : memory.rss,
    databasePeakRss: embeddedPids ? processesPeakRss(embeddedPids) : null,
    profileFile,
  };
  const other = measurement.otherCpuShare;
  const busy =
    other !== null && other > OTHER_CPU_WARNING
      ? ` (⚠ other processes used ${percent(other)} of a core)`
      : '';
  process.stderr.write(`${formatRps(measurement.rps)} req/s${busy}\n`);
  if (measurement.non2xx > 0 || measurement.errors > 0) {
    process.stderr.write(
      `  ⚠ ${measurement.non2xx} non-2xx, ${measurement.errors} errors: ${JSON.stringify(result.statusCodeStats)}\n`,
    );
  }
  return measurement;
}

// ── Orgplane setup ────────────────────────────────────────────────────────────────────────────

const PASSWORD = 'bench-correct-horse-battery-staple';
const WORKSPACES = 20;

async function api(
  base: string,
  method: string,
  url: string,
  options: { token?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${url}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: setup reads a few fields of known responses.
  const body: any = text ? JSON.parse(text) : null;
  if (response.status >= 300) throw new Error(`setup: ${method} ${url} → ${response.status} ${text}`);
  return body;
}

interface Account {
  email: string;
  userId: string;
  orgId: string;
  /** The owner's access token, from login. */
  token: string;
}

/** Signs up (a new user owning a new org) and logs in. */
async function signUp(base: string): Promise<Account> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const signup = await api(base, 'POST', '/api/v1/auth/signup', {
    body: { email, password: PASSWORD, name: 'Bench' },
  });
  const login = await api(base, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  return { email, userId: signup.user.id, orgId: signup.organization.id, token: login.access_token };
}

const KEY_SCOPES = ['read:org', 'read:workspaces'];

/** A real API key, made through the API with the owner's token: its id and its secret. */
async function createApiKey(base: string, account: Account, name: string) {
  const created = await api(base, 'POST', `/api/v1/orgs/${account.orgId}/api-keys`, {
    token: account.token,
    body: { name, scopes: KEY_SCOPES },
  });
  if (typeof created.key !== 'string' || !created.key.startsWith('fl_')) {
    throw new Error(`setup: the new API key has no fl_ secret: ${JSON.stringify(created)}`);
  }
  return { id: created.id as string, key: created.key as string };
}

const ok = (status: number) => (status === 200 ? null : 'expected 200');

interface Whoami {
  user_id?: string;
  email?: string;
  organization?: { id?: string } | null;
  role?: string | null;
  scopes?: string[];
  credential?: { type?: string; id?: string };
}

/** whoami's answer for this account and credential: right user, org, role, scopes and credential. */
function checkWhoami(
  account: Account,
  credential: { type: 'access_token' | 'api_key'; id?: string },
  scopes?: string[],
) {
  return (status: number, raw: unknown): string | null => {
    const body = raw as Whoami;
    if (status !== 200) return 'expected 200';
    if (body.email !== account.email || body.user_id !== account.userId) return 'wrong user';
    if (body.organization?.id !== account.orgId || body.role !== 'owner') return 'wrong org or role';
    if (body.credential?.type !== credential.type) return `expected credential type ${credential.type}`;
    if (credential.id && body.credential.id !== credential.id) return 'wrong credential id';
    if (scopes && [...(body.scopes ?? [])].sort().join(' ') !== [...scopes].sort().join(' ')) {
      return `expected scopes ${scopes.join(' ')}`;
    }
    return null;
  };
}

/** An ES256 JWT whose claims name this key (and its scopes), valid for `seconds`. */
function checkExchangedToken(account: Account, keyId: string, seconds: number) {
  return (status: number, raw: unknown): string | null => {
    const body = raw as { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    if (status !== 200) return 'expected 200';
    if (body.token_type !== 'Bearer' || body.expires_in !== seconds) return `expected Bearer, ${seconds} s`;
    if (typeof body.access_token !== 'string') return 'no access_token';
    const [header, payload] = body.access_token
      .split('.')
      .slice(0, 2)
      .map((part) => {
        try {
          return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
        } catch {
          return null;
        }
      });
    if (header?.alg !== 'ES256') return 'expected an ES256 JWT';
    if (payload?.sub !== account.userId || payload?.org_id !== account.orgId) return 'wrong subject or org';
    if (payload?.api_key_id !== keyId) return 'the token does not name the key';
    return null;
  };
}

/** Signs up, logs in, creates the workspaces and an API key; returns the targets to measure. */
async function prepareOrgplane(server: ServerChild, mode: LoggingMode): Promise<Target[]> {
  const account = await signUp(server.url);
  const { orgId, token } = account;
  for (let i = 1; i <= WORKSPACES; i++) {
    await api(server.url, 'POST', `/api/v1/orgs/${orgId}/workspaces`, {
      token,
      body: { name: `Workspace ${i}`, description: `Benchmark workspace number ${i}` },
    });
  }
  const apiKey = await createApiKey(server.url, account, 'bench');
  const auth = { authorization: `Bearer ${token}` };
  const TOKEN_TTL_MINUTES = 60;
  const all: Target[] = [
    {
      key: 'healthz',
      label: 'GET /healthz',
      method: 'GET',
      path: '/healthz',
      reportLatency: true,
      check: ok,
    },
    {
      key: 'whoami-jwt',
      label: 'GET /api/v1/auth/whoami (JWT)',
      method: 'GET',
      path: '/api/v1/auth/whoami',
      headers: auth,
      reportLatency: true,
      check: checkWhoami(account, { type: 'access_token' }),
    },
    {
      key: 'whoami-key',
      label: 'GET /api/v1/auth/whoami (API key)',
      method: 'GET',
      path: '/api/v1/auth/whoami',
      headers: { 'x-api-key': apiKey.key },
      reportLatency: true,
      check: checkWhoami(account, { type: 'api_key', id: apiKey.id }, KEY_SCOPES),
    },
    {
      key: 'workspaces',
      label: `GET /api/v1/orgs/{org_id}/workspaces (${WORKSPACES})`,
      method: 'GET',
      path: `/api/v1/orgs/${orgId}/workspaces`,
      headers: auth,
      reportLatency: true,
      check: (status, body) =>
        ok(status) ??
        ((body as { data?: unknown[] }).data?.length === WORKSPACES
          ? null
          : `expected ${WORKSPACES} workspaces`),
    },
    {
      key: 'token',
      label: 'POST /api/v1/auth/token (API key → JWT)',
      method: 'POST',
      path: '/api/v1/auth/token',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: apiKey.key, ttl_minutes: TOKEN_TTL_MINUTES }),
      reportLatency: true,
      check: checkExchangedToken(account, apiKey.id, TOKEN_TTL_MINUTES * 60),
    },
    {
      key: 'login',
      label: 'POST /api/v1/auth/login',
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: account.email, password: PASSWORD }),
      reportLatency: false,
      check: (status, body) =>
        ok(status) ??
        (typeof (body as { access_token?: unknown }).access_token === 'string' ? null : 'no token'),
    },
  ];
  return all
    .filter((target) => settings.paths.includes(target.key as PathKey))
    .map((target) => {
      const goal = RATIO_TARGETS[mode][target.key];
      return goal === undefined ? target : { ...target, goal };
    });
}

function orgplaneEnv(dataDir: string, overrides: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ORGPLANE_DATA_DIR: dataDir,
    ORGPLANE_PUBLIC_URL: 'http://orgplane.bench',
    ORGPLANE_ALLOW_SIGNUP: 'true',
    ORGPLANE_PLATFORM_ADMIN_EMAILS: '',
    ORGPLANE_TRUST_PROXY: 'false',
    // Every login in the run comes from one account and one IP: lift the throttles for the bench.
    ORGPLANE_LOGIN_ACCOUNT_LIMIT_MAX: '1000000',
    ORGPLANE_LOGIN_IP_LIMIT_MAX: '1000000',
    DATABASE_URL: '',
    ORGPLANE_MASTER_KEY: '',
    BENCH_SCHEMA: '',
    ...overrides,
  };
}

/** What the default-logging servers wrote to their stdout file, per backend. */
const logVolumes: Array<{ backend: string; bytes: number; lines: number }> = [];

async function benchOrgplane(
  database: string,
  overrides: Record<string, string>,
  mode: LoggingMode,
): Promise<Measurement[]> {
  const backend = `${database} · ${modeLabel(mode)}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orgplane-bench-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  process.stderr.write(`${backend}: starting…\n`);
  // Default logging goes to a file (outside the data directory), as a service manager's would.
  const logFile = path.join(dataDir, '..', `${path.basename(dataDir)}.log`);
  const logFd = mode === 'default' ? openLogFile(logFile) : undefined;
  const env = orgplaneEnv(dataDir, { ...overrides, ...modeEnv(mode) });
  const server = await ServerChild.start(backend, 'orgplane.ts', env, logFd);
  try {
    const targets = await prepareOrgplane(server, mode);
    const results: Measurement[] = [];
    for (const target of targets) results.push({ ...(await measure(backend, server, target)), mode });
    return results;
  } finally {
    await server.stop();
    if (logFd !== undefined) {
      logVolumes.push({ backend, ...logFileStats(logFile, logFd) });
      rmSync(logFile, { force: true });
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchBare(label: string): Promise<Measurement> {
  const server = await ServerChild.start('bare node:http', 'bare.ts', { ...process.env });
  try {
    return await measure(label, server, {
      key: 'bare',
      label: 'GET / (JSON hello world)',
      method: 'GET',
      path: '/',
      reportLatency: true,
      check: (status) => (status === 200 ? null : 'expected 200'),
    });
  } finally {
    await server.stop();
  }
}

async function withPostgresSchema<T>(url: string, work: (schema: string) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE SCHEMA ${schema}`);
  const drop = () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  cleanups.push(drop);
  try {
    return await work(schema);
  } finally {
    await drop();
    cleanups.splice(cleanups.indexOf(drop), 1);
  }
}

// ── scale: whoami (API key) with 1,000 and 1,000,000 keys stored ────────────────────────────

interface ScalePoint {
  rows: number;
  measurement: Measurement;
  /** Each key's first request to a freshly started server (a cache miss: one indexed lookup), in turn. */
  firstUse: { p50: number; p99: number };
}

interface ScaleResult {
  backend: string;
  points: [small: ScalePoint, large: ScalePoint];
  /** Growing the table from the small size to the large one: seconds, and that server's peak RSS. */
  growSeconds: number;
  growPeakRss: number | null;
}

function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/**
 * Inserts bulk rows until api_keys holds `want` rows (the first SCALE_KEYS are the real keys),
 * in batches of SCALE_BATCH, through the server child's own database handle.
 */
async function growKeys(server: ServerChild, account: Account, have: number, want: number): Promise<number> {
  let rows = have;
  for (let from = have - SCALE_KEYS + 1; from <= want - SCALE_KEYS; from += SCALE_BATCH) {
    const to = Math.min(want - SCALE_KEYS, from + SCALE_BATCH - 1);
    rows = await server.call<number>(
      { cmd: 'bulk-api-keys', orgId: account.orgId, userId: account.userId, from, to },
      15 * 60_000,
    );
    if (want > SCALE_SMALL_ROWS) process.stderr.write(` ${formatCount(rows)}`);
  }
  if (rows !== want) throw new Error(`scale: api_keys holds ${rows} rows, expected ${want}`);
  return rows;
}

/** A freshly started server on the stored data: first use of every key, then load rotating them. */
async function scalePoint(
  backend: string,
  env: NodeJS.ProcessEnv,
  account: Account,
  keys: Array<{ id: string; key: string }>,
  rows: number,
): Promise<ScalePoint> {
  const server = await ServerChild.start(`${backend} (${formatCount(rows)} keys)`, 'orgplane.ts', env);
  try {
    // The HTTP stack and the process warm up first (JIT), so the first uses time the key lookups.
    for (let i = 0; i < 200; i++) await (await fetch(`${server.url}/healthz`)).arrayBuffer();
    const firstUse: number[] = [];
    for (const { id, key } of keys) {
      const started = performance.now();
      const response = await fetch(`${server.url}/api/v1/auth/whoami`, { headers: { 'x-api-key': key } });
      const text = await response.text();
      firstUse.push(performance.now() - started);
      const problem = checkWhoami(
        account,
        { type: 'api_key', id },
        KEY_SCOPES,
      )(response.status, text ? JSON.parse(text) : null);
      if (problem) throw new Error(`${backend} scale: ${problem} (HTTP ${response.status}: ${text})`);
    }
    const sorted = Float64Array.from(firstUse).sort();
    const whoami = (key: string) => ({
      method: 'GET' as const,
      path: '/api/v1/auth/whoami',
      headers: { 'x-api-key': key },
    });
    const measurement = await measure(backend, server, {
      key: 'scale',
      slug: `scale-${rows}`,
      label: `GET /api/v1/auth/whoami (${keys.length} API keys in turn, ${formatCount(rows)} stored)`,
      ...whoami(keys[0]!.key),
      requests: keys.map(({ key }) => whoami(key)),
      reportLatency: true,
      check: checkWhoami(account, { type: 'api_key', id: keys[0]!.id }, KEY_SCOPES),
    });
    return { rows, measurement, firstUse: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) } };
  } finally {
    await server.stop();
  }
}

/**
 * SCALE_KEYS real keys (made through the API) and bulk rows up to SCALE_SMALL_ROWS, measured; the
 * table grown to settings.scaleRows, measured again. Each measurement runs in a freshly started
 * server on the stored data, so neither inherits the other's cache, nor (PGlite) the memory the
 * bulk insert used inside the server process.
 */
async function benchScale(backend: string, overrides: Record<string, string>): Promise<ScaleResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orgplane-bench-scale-'));
  const remove = async () => rmSync(dataDir, { recursive: true, force: true });
  cleanups.push(remove);
  const env = orgplaneEnv(dataDir, overrides);
  try {
    process.stderr.write(
      `${backend} · scale: ${SCALE_KEYS} API keys through the API, ${formatCount(SCALE_SMALL_ROWS)} rows…\n`,
    );
    let server = await ServerChild.start(`${backend} (scale setup)`, 'orgplane.ts', env);
    let account: Account;
    const keys: Array<{ id: string; key: string }> = [];
    let rows: number;
    try {
      account = await signUp(server.url);
      for (let i = 1; i <= SCALE_KEYS; i++) keys.push(await createApiKey(server.url, account, `scale ${i}`));
      rows = await growKeys(server, account, SCALE_KEYS, SCALE_SMALL_ROWS);
    } finally {
      await server.stop();
    }
    const small = await scalePoint(backend, env, account, keys, rows);

    process.stderr.write(`${backend} · scale: growing api_keys to ${formatCount(settings.scaleRows)} rows…`);
    const began = performance.now();
    server = await ServerChild.start(`${backend} (scale: bulk insert)`, 'orgplane.ts', env);
    let growPeakRss: number | null;
    try {
      rows = await growKeys(server, account, rows, settings.scaleRows);
      growPeakRss = (await server.call<MemoryReport>({ cmd: 'memory' })).peakRss;
    } finally {
      await server.stop();
    }
    const growSeconds = (performance.now() - began) / 1000;
    process.stderr.write(` (${growSeconds.toFixed(0)} s)\n`);
    const large = await scalePoint(backend, env, account, keys, rows);
    return { backend, points: [small, large], growSeconds, growPeakRss };
  } finally {
    await remove();
    cleanups.splice(cleanups.indexOf(remove), 1);
  }
}

// ── report ────────────────────────────────────────────────────────────────────────────────────

function formatRps(rps: number): string {
  return rps.toLocaleString('en-US', { maximumFractionDigits: rps >= 100 ? 0 : 1 });
}

/** Two decimals, or two significant digits below 0.1 (login is ~0.001× by design). */
function formatRatio(ratio: number): string {
  return ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2);
}

function formatMs(ms: number): string {
  return Number.isNaN(ms) ? '—' : ms.toFixed(ms < 10 ? 2 : 1);
}

function formatMicros(micros: number | null): string {
  // One decimal below 100 µs: the hot paths differ from each other by fractions of a microsecond.
  const digits = micros !== null && micros < 100 ? 1 : 0;
  return micros === null
    ? '—'
    : micros.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** Megabytes (10⁶ bytes), the unit of the RSS target. */
function formatMb(bytes: number | null): string {
  return bytes === null ? '—' : (bytes / 1e6).toFixed(0);
}

interface TargetResult {
  backend: string;
  what: string;
  goal: string;
  measured: string;
  pass: boolean;
}

function ratioTarget(m: Measurement, baseline: number): TargetResult | null {
  if (m.target.goal === undefined) return null;
  const ratio = m.rps / baseline;
  return {
    backend: m.backend,
    what: `${m.target.label}: req/s ÷ bare`,
    goal: `≥ ${m.target.goal.toFixed(2)}×`,
    measured: `${formatRatio(ratio)}×`,
    // Errors under load make the figure meaningless: never a PASS.
    pass: ratio >= m.target.goal && m.non2xx + m.errors === 0,
  };
}

function scaleTargets(result: ScaleResult): TargetResult[] {
  const [small, large] = result.points;
  const ratio = large.measurement.p99 / small.measurement.p99;
  const peak = large.measurement.peakRss ?? 0;
  const clean = result.points.every((point) => point.measurement.non2xx + point.measurement.errors === 0);
  return [
    {
      backend: result.backend,
      what: `whoami (API key) p99, ${formatCount(large.rows)} ÷ ${formatCount(small.rows)} keys stored`,
      goal: `≤ ${SCALE_P99_TARGET.toFixed(1)}×`,
      measured: `${ratio.toFixed(2)}× (${formatMs(large.measurement.p99)} / ${formatMs(small.measurement.p99)} ms)`,
      pass: ratio <= SCALE_P99_TARGET && clean,
    },
    {
      backend: result.backend,
      what: `server peak RSS under that load, ${formatCount(large.rows)} keys stored`,
      goal: `≤ ${SCALE_RSS_TARGET_MB} MB`,
      measured: `${formatMb(peak)} MB`,
      pass: peak > 0 && peak <= SCALE_RSS_TARGET_MB * 1e6,
    },
  ];
}

function describeEnvironment(): string[] {
  let revision = 'unknown';
  try {
    const root = path.resolve(BENCH_DIR, '..');
    revision = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], {
      cwd: root,
      encoding: 'utf8',
    });
    if (dirty.trim()) revision += ' + uncommitted changes in packages/';
  } catch {}
  const cpus = os.cpus();
  const busy =
    busyAtStart !== null && busyAtStart > BUSY_SHARE
      ? ' — **the machine was busy: figures are unreliable**'
      : '';
  const busyText = busyAtStart === null ? 'unknown' : percent(busyAtStart);
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
    `- Node.js ${SERVER_NODE_VERSION} (servers; BENCH_NODE), ${process.version} (load generator); revision ${revision}`,
    `- Before the run: CPU ${busyText} busy (1 s sample, all cores), load average ${loadAtStart.toFixed(2)} (1 min)${busy}`,
    `- autocannon: ${settings.connections} connections, ${settings.warmup} s warmup + ${settings.duration} s measured per path, load generator and each server in separate processes`,
  ];
}

/** Total (user + system) µs per request. */
function serverCpuCell(m: Measurement): string {
  const system = m.serverSystemMicrosPerRequest;
  const user = m.serverCpuMicrosPerRequest - system;
  return `${formatMicros(m.serverCpuMicrosPerRequest)} (${formatMicros(user)} + ${formatMicros(system)})`;
}

function measurementRow(m: Measurement, baseline: number): string[] {
  const target = ratioTarget(m, baseline);
  return [
    m.backend,
    m.target.label,
    formatRps(m.rps),
    `${formatRatio(m.rps / baseline)}×`,
    target ? `${target.goal} ${verdict(target.pass)}` : '',
    m.target.reportLatency ? formatMs(m.p50) : '—',
    m.target.reportLatency ? formatMs(m.p99) : '—',
    serverCpuCell(m),
    percent(m.serverCpuShare),
    formatMicros(m.databaseCpuMicrosPerRequest),
    percent(m.loadgenCpuShare),
    m.otherCpuShare === null
      ? '—'
      : `${m.otherCpuShare > OTHER_CPU_WARNING ? '⚠ ' : ''}${percent(m.otherCpuShare)}`,
    formatMb(m.peakRss),
    formatMb(m.databasePeakRss),
    m.non2xx + m.errors > 0 ? `⚠ ${m.non2xx} / ${m.errors}` : '0 / 0',
  ];
}

const MEASUREMENT_COLUMNS: Array<[string, 'left' | 'right']> = [
  ['server', 'left'],
  ['path', 'left'],
  ['req/s', 'right'],
  ['× bare', 'right'],
  ['target', 'left'],
  ['p50 ms', 'right'],
  ['p99 ms', 'right'],
  ['server CPU µs/req (user + sys)', 'right'],
  ['server CPU', 'right'],
  ['database CPU µs/req', 'right'],
  ['load-gen CPU', 'right'],
  ['other CPU', 'right'],
  ['server peak RSS MB', 'right'],
  ['database process peak RSS MB', 'right'],
  ['non-2xx / errors', 'right'],
];

function scaleSection(results: ScaleResult[], baseline: number): string[] {
  if (results.length === 0) return [];
  const lines = [
    '',
    '## Scale: whoami (API key) with 1,000 and 1,000,000 keys stored',
    '',
    `${SCALE_KEYS} real keys (made through the API) are sent in turn by every connection; the other rows`,
    'of `api_keys` are bulk-inserted. Each size is measured in a freshly started server on the stored',
    'data. "First use" is each key’s first request, one after another (a cache miss: the indexed',
    'lookup); the load that follows is served from the credential cache.',
    '',
  ];
  const rows = results.flatMap((result) =>
    result.points.map(({ rows: stored, measurement: m, firstUse }) => [
      result.backend,
      formatCount(stored),
      formatRps(m.rps),
      `${formatRatio(m.rps / baseline)}×`,
      formatMs(m.p50),
      formatMs(m.p99),
      `${formatMs(firstUse.p50)} / ${formatMs(firstUse.p99)}`,
      serverCpuCell(m),
      formatMicros(m.databaseCpuMicrosPerRequest),
      m.otherCpuShare === null
        ? '—'
        : `${m.otherCpuShare > OTHER_CPU_WARNING ? '⚠ ' : ''}${percent(m.otherCpuShare)}`,
      formatMb(m.peakRss),
      formatMb(m.databasePeakRss),
      m.non2xx + m.errors > 0 ? `⚠ ${m.non2xx} / ${m.errors}` : '0 / 0',
    ]),
  );
  lines.push(
    ...markdownTable(
      [
        ['server', 'left'],
        ['keys stored', 'right'],
        ['req/s', 'right'],
        ['× bare', 'right'],
        ['p50 ms', 'right'],
        ['p99 ms', 'right'],
        ['first use p50 / p99 ms', 'right'],
        ['server CPU µs/req (user + sys)', 'right'],
        ['database CPU µs/req', 'right'],
        ['other CPU', 'right'],
        ['server peak RSS MB', 'right'],
        ['database process peak RSS MB', 'right'],
        ['non-2xx / errors', 'right'],
      ],
      rows,
    ),
    '',
  );
  for (const result of results) {
    const [p99, rss] = scaleTargets(result);
    lines.push(
      `- ${result.backend}: p99 ${p99!.measured} → ${p99!.goal} ${verdict(p99!.pass)}; peak RSS ${rss!.measured} → ${rss!.goal} ${verdict(rss!.pass)}; growing the table took ${result.growSeconds.toFixed(0)} s (peak RSS of the server doing it: ${formatMb(result.growPeakRss)} MB)`,
    );
  }
  return lines;
}

function report(
  measurements: Measurement[],
  baseline: number,
  bare: Measurement[],
  scale: ScaleResult[],
): string {
  const lines: string[] = ['# Orgplane benchmark', ''];
  lines.push(...describeEnvironment());
  lines.push(
    `- Baseline: bare node:http = ${formatRps(baseline)} req/s (mean of before ${bare.map((m) => formatRps(m.rps)).join(' / after ')})`,
  );
  const drift = Math.abs(bare[0]!.rps - bare[1]!.rps) / baseline;
  if (drift > DRIFT_WARNING) {
    lines.push(
      `- **The baseline drifted ${Math.round(drift * 100)}% between before and after: something else was using the CPU.**`,
    );
  }
  const windows = [...measurements, ...scale.flatMap((r) => r.points.map((p) => p.measurement))];
  const disturbed = windows.filter((m) => (m.otherCpuShare ?? 0) > OTHER_CPU_WARNING);
  if (disturbed.length > 0) {
    lines.push(
      `- **Other processes used more than ${percent(OTHER_CPU_WARNING)} of a core during ${disturbed.length} of ${windows.length} measured windows (⚠ under "other CPU"): those figures are disturbed.**`,
    );
  }
  if (settings.profile) {
    lines.push(
      '- **Run under the CPU profiler: throughput here is lower than without it; do not quote it.**',
    );
  }
  lines.push(
    `- Orgplane's logging: ${settings.logging.map((mode) => (mode === 'default' ? '"default logging" = LOG_LEVEL unset (info, one access-log line per request), the server\'s stdout to a file' : '"silent" = LOG_LEVEL=silent')).join('; then ')}; the scale run is silent`,
  );
  for (const volume of logVolumes) {
    lines.push(
      `- ${volume.backend}: the server wrote ${formatCount(volume.lines)} log lines (${formatMb(volume.bytes)} MB) to its stdout file`,
    );
  }
  lines.push('');
  for (const m of measurements) {
    if (m.target.key === 'bare') continue;
    const latency = m.target.reportLatency ? ` (p50 ${formatMs(m.p50)} ms, p99 ${formatMs(m.p99)} ms)` : '';
    const target = ratioTarget(m, baseline);
    const verdictText = target ? ` — target ${target.goal}: **${verdict(target.pass)}**` : '';
    lines.push(
      `- ${m.backend} · ${m.target.key}: ${formatRps(m.rps)} req/s = ${formatRatio(m.rps / baseline)}× bare node:http${verdictText}${latency}`,
    );
  }
  lines.push(
    '',
    ...markdownTable(
      MEASUREMENT_COLUMNS,
      measurements.map((m) => measurementRow(m, baseline)),
    ),
  );
  lines.push(
    '',
    'Server CPU is the server process’s user+system time (all its threads, so argon2 and WebCrypto on',
    'libuv’s pool count) per request (system: the kernel, mostly loopback TCP) and as a share of one core; database CPU is every local `postgres`',
    'process’s, or the embedded database process’s (PGlite runs in a child of the server, ADR 14); load-gen CPU is this process’s (near 100% means the baseline is bounded by the load generator);',
    `other CPU is every other process’s (above ${percent(OTHER_CPU_WARNING)} of a core, ⚠: the figures are disturbed).`,
    'Server peak RSS is the server process’s peak resident memory during the measured window (MB = 10⁶ bytes);',
    'the embedded database process’s is given beside it (a PostgreSQL server’s memory is not attributed).',
  );
  lines.push(...scaleSection(scale, baseline));

  const costs = loggingCosts(
    measurements.flatMap((m) =>
      m.mode
        ? [
            {
              backend: m.backend.replace(/ · [^·]+$/, ''),
              mode: m.mode,
              key: m.target.key,
              label: m.target.label,
              rps: m.rps,
              cpuMicros: m.serverCpuMicrosPerRequest,
              clean: m.non2xx + m.errors === 0,
            },
          ]
        : [],
    ),
  );
  const targets: Array<TargetResult | CostResult> = [
    ...measurements.map((m) => ratioTarget(m, baseline)).filter((t): t is TargetResult => t !== null),
    ...costs,
    ...scale.flatMap(scaleTargets),
  ];
  if (targets.length > 0) {
    lines.push(
      '',
      '## Targets (issue 3 with logging silent; issue 11 with default logging)',
      '',
      ...markdownTable(
        [
          ['server', 'left'],
          ['target', 'left'],
          ['goal', 'left'],
          ['measured', 'right'],
          ['result', 'left'],
        ],
        targets.map((t) => [t.backend, t.what, t.goal, t.measured, verdict(t.pass)]),
      ),
    );
  }

  const profiled = [...measurements, ...scale.flatMap((r) => r.points.map((p) => p.measurement))].filter(
    (m) => m.profileFile,
  );
  if (profiled.length > 0) {
    lines.push('', '## CPU profiles (server main thread, measured window only)');
    for (const m of profiled) {
      const { profile, requests } = loadProfile(m.profileFile!);
      lines.push(
        '',
        formatSummary(
          `${m.backend} · ${m.target.slug ?? m.target.key} — ${path.relative(process.cwd(), m.profileFile!)}`,
          summariseProfile(profile, requests),
        ),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

// ── main ──────────────────────────────────────────────────────────────────────────────────────

async function main() {
  if (settings.databaseUrl) assertLoopbackDatabase(settings.databaseUrl);
  // Start-up time and memory (bench/startup.ts), first: before the load runs, outside their watchdog.
  const startup = await benchStartup(settings.databaseUrl, intSetting('BENCH_STARTUP_RUNS', 5, 0, 50));
  busyAtStart = await cpuBusyShare(1000);
  if (busyAtStart !== null && busyAtStart > BUSY_SHARE) {
    process.stderr.write(
      `bench: the CPU is ${percent(busyAtStart)} busy already: other work will skew the figures\n`,
    );
  }
  const backends = 1 + (settings.databaseUrl ? 1 : 0);
  // (Each backend's server starts once per logging mode.)
  const paths = loadPaths();
  const scaling = settings.paths.includes('scale');
  const runs = 2 + backends * settings.logging.length * paths.length + (scaling ? backends * 2 : 0);
  // Watchdog: the whole run is bounded even if a server hangs. Scale: four server start-ups,
  // 200 keys and the bulk insert per backend (about 30,000 rows a second on PGlite; see README).
  const scaleBudget = scaling ? backends * (4 * 120 + 300 + Math.ceil(settings.scaleRows / 2_000)) : 0;
  const budgetMs =
    (runs * (settings.warmup + settings.duration + 15) +
      backends * settings.logging.length * 120 +
      scaleBudget +
      60) *
    1000;
  setTimeout(() => {
    process.stderr.write(`bench: exceeded its ${Math.round(budgetMs / 1000)} s budget; stopping\n`);
    void runCleanups().finally(() => process.exit(1));
  }, budgetMs).unref();

  const url = settings.databaseUrl;
  const postgres = (work: (overrides: Record<string, string>) => Promise<void>) =>
    withPostgresSchema(url!, (schema) =>
      work({
        DATABASE_URL: url!,
        BENCH_SCHEMA: schema,
        ORGPLANE_MASTER_KEY: randomBytes(32).toString('base64'),
      }),
    );

  const measurements: Measurement[] = [];
  const before = await benchBare('bare node:http');
  measurements.push(before);
  // Each backend as `npm start` runs it (default logging) first, then silent (BENCH_LOGGING).
  for (const mode of paths.length > 0 ? settings.logging : []) {
    measurements.push(...(await benchOrgplane('Orgplane · PGlite', {}, mode)));
  }
  for (const mode of url && paths.length > 0 ? settings.logging : []) {
    await postgres(async (overrides) => {
      measurements.push(...(await benchOrgplane('Orgplane · PostgreSQL', overrides, mode)));
    });
  }
  const after = await benchBare('bare node:http (after)');
  measurements.push(after);
  const baseline = (before.rps + after.rps) / 2;

  // After the baseline's second run: the scale run takes minutes, and its targets compare it with
  // itself (p99 at two sizes, RSS), not with bare node:http.
  const scale: ScaleResult[] = [];
  if (scaling) {
    scale.push(await benchScale('Orgplane · PGlite', {}));
    if (url)
      await postgres(
        async (overrides) => void scale.push(await benchScale('Orgplane · PostgreSQL', overrides)),
      );
  }

  const text = `${report(measurements, baseline, [before, after], scale)}\n${startup.join('\n')}\n`;
  process.stdout.write(`\n${text}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), text);
  process.stderr.write(`\nwritten to ${path.relative(process.cwd(), path.join(RESULTS_DIR, 'latest.md'))}\n`);
  const all = [...measurements, ...scale.flatMap((r) => r.points.map((p) => p.measurement))];
  if (all.some((m) => m.non2xx > 0 || m.errors > 0)) process.exitCode = 1;
}

process.once('SIGINT', () => {
  void runCleanups().finally(() => process.exit(130));
});

main()
  .catch(async (error: unknown) => {
    console.error('bench:', error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(runCleanups);
