// Orgplane's hot paths under load, each reported as a ratio to a bare node:http server measured in
// the same run (project rule: performance is measured, not assumed).
//
//   npm run bench                                      # PGlite only
//   BENCH_DATABASE_URL=postgres://root@127.0.0.1:5432/test npm run bench   # + PostgreSQL
//
// Process layout: this process is only the load generator (autocannon). Every server under test,
// the bare node:http baseline included, runs in its own child process (bench/servers/*.ts, forked
// with an IPC channel), so the load generator and the server never share an event loop: on this
// 2-core machine each gets a core of its own, and a server's req/s is not capped by the load
// generator's JavaScript running between its requests. The IPC channel also lets this process read
// the child's CPU time around a run and start/stop a V8 CPU profile exactly around the measured
// window (never the warmup or the setup).
//
// Environment (all optional):
//   BENCH_DURATION      seconds measured per path (default 5, 1–60)
//   BENCH_WARMUP        seconds of discarded load before each path (default 2, 0–30)
//   BENCH_CONNECTIONS   concurrent connections (default 10, 1–256)
//   BENCH_DATABASE_URL  also run Orgplane on this PostgreSQL (loopback only), in a fresh schema
//                       that is dropped afterwards
//   BENCH_PATHS         comma list of paths to run: healthz,whoami,workspaces,login (default all)
//   BENCH_PROFILE=1     CPU-profile the Orgplane server during each measured path; writes
//                       bench/results/profiles/*.cpuprofile and appends a summary. The profiler
//                       slows the server down: figures from such a run are not the benchmark's.
//
// Load goes only to 127.0.0.1, every run is bounded by BENCH_DURATION, and the whole run by a
// watchdog; the output is a markdown table on stdout and in bench/results/latest.md.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { markdownTable } from './markdown.ts';
import { formatSummary, loadProfile, summariseProfile } from './profile-summary.ts';
import type { ChildMessage, ControlCommand } from './servers/control.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
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

const PATH_KEYS = ['healthz', 'whoami', 'workspaces', 'login'] as const;
type PathKey = (typeof PATH_KEYS)[number];

const settings = {
  duration: intSetting('BENCH_DURATION', 5, 1, 60),
  warmup: intSetting('BENCH_WARMUP', 2, 0, 30),
  connections: intSetting('BENCH_CONNECTIONS', 10, 1, 256),
  databaseUrl: process.env.BENCH_DATABASE_URL?.trim() || null,
  profile: ['1', 'true', 'yes'].includes((process.env.BENCH_PROFILE ?? '').toLowerCase()),
  paths: selectedPaths(process.env.BENCH_PATHS),
};

function selectedPaths(raw: string | undefined): PathKey[] {
  if (!raw?.trim()) return [...PATH_KEYS];
  const wanted = raw.split(',').map((key) => key.trim());
  for (const key of wanted) {
    if (!(PATH_KEYS as readonly string[]).includes(key)) {
      throw new Error(`BENCH_PATHS: unknown path "${key}" (known: ${PATH_KEYS.join(', ')})`);
    }
  }
  return PATH_KEYS.filter((key) => wanted.includes(key));
}

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

  static start(name: string, script: string, env: NodeJS.ProcessEnv): Promise<ServerChild> {
    const child = fork(path.join(BENCH_DIR, 'servers', script), [], {
      execArgv: ['--import', 'tsx'],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
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

  call<T>(command: ControlCommand): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${command.cmd} within 60 s`));
      }, 60_000);
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
  /** Login is bound by argon2id on purpose: only its throughput is reported. */
  reportLatency: boolean;
  /** A single request's answer must pass this before load is sent (a 401 benchmarks nothing). */
  check(status: number, body: unknown): string | null;
}

interface Measurement {
  backend: string;
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
  serverCpuShare: number;
  databaseCpuMicrosPerRequest: number | null;
  loadgenCpuShare: number;
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
  const measuresDatabase = backend.includes('PostgreSQL');
  const latencies: number[] = [];
  const serverCpuBefore = await server.call<NodeJS.CpuUsage>({ cmd: 'cpu' });
  const databaseCpuBefore = measuresDatabase ? postgresCpuMicros() : null;
  const loadgenCpuBefore = process.cpuUsage();
  const wallBefore = process.hrtime.bigint();
  const result = await load(server, target, settings.duration, latencies);
  const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1000;
  const loadgenCpu = process.cpuUsage(loadgenCpuBefore);
  const databaseCpuAfter = measuresDatabase ? postgresCpuMicros() : null;
  const serverCpuAfter = await server.call<NodeJS.CpuUsage>({ cmd: 'cpu' });
  if (profiling) {
    mkdirSync(PROFILES_DIR, { recursive: true });
    const slug = `${backend}-${target.key}`.toLowerCase().replace(/[^a-z0-9]+/g, '-');
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
    serverCpuShare: serverCpuMicros / wallMicros,
    databaseCpuMicrosPerRequest:
      databaseCpuBefore !== null && databaseCpuAfter !== null
        ? (databaseCpuAfter - databaseCpuBefore) / Math.max(1, requests)
        : null,
    loadgenCpuShare: (loadgenCpu.user + loadgenCpu.system) / wallMicros,
    profileFile,
  };
  process.stderr.write(`${formatRps(measurement.rps)} req/s\n`);
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

/** Signs up, logs in, creates the workspaces; returns the targets to measure. */
async function prepareOrgplane(server: ServerChild): Promise<Target[]> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const signup = await api(server.url, 'POST', '/api/v1/auth/signup', {
    body: { email, password: PASSWORD, name: 'Bench' },
  });
  const orgId: string = signup.organization.id;
  const login = await api(server.url, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  const token: string = login.access_token;
  for (let i = 1; i <= WORKSPACES; i++) {
    await api(server.url, 'POST', `/api/v1/orgs/${orgId}/workspaces`, {
      token,
      body: { name: `Workspace ${i}`, description: `Benchmark workspace number ${i}` },
    });
  }
  const auth = { authorization: `Bearer ${token}` };
  const ok = (status: number) => (status === 200 ? null : 'expected 200');
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
      key: 'whoami',
      label: 'GET /api/v1/auth/whoami',
      method: 'GET',
      path: '/api/v1/auth/whoami',
      headers: auth,
      reportLatency: true,
      check: (status, body) =>
        ok(status) ?? ((body as { email?: string }).email === email ? null : 'wrong user'),
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
      key: 'login',
      label: 'POST /api/v1/auth/login',
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
      reportLatency: false,
      check: (status, body) =>
        ok(status) ??
        (typeof (body as { access_token?: unknown }).access_token === 'string' ? null : 'no token'),
    },
  ];
  return all.filter((target) => settings.paths.includes(target.key as PathKey));
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

async function benchOrgplane(backend: string, overrides: Record<string, string>): Promise<Measurement[]> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'orgplane-bench-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  process.stderr.write(`${backend}: starting…\n`);
  const server = await ServerChild.start(backend, 'orgplane.ts', orgplaneEnv(dataDir, overrides));
  try {
    const targets = await prepareOrgplane(server);
    const results: Measurement[] = [];
    for (const target of targets) results.push(await measure(backend, server, target));
    return results;
  } finally {
    await server.stop();
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
  return micros === null ? '—' : micros.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
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
    `- Node.js ${process.version}; revision ${revision}`,
    `- Before the run: CPU ${busyText} busy (1 s sample, all cores), load average ${loadAtStart.toFixed(2)} (1 min)${busy}`,
    `- autocannon: ${settings.connections} connections, ${settings.warmup} s warmup + ${settings.duration} s measured per path, load generator and each server in separate processes`,
  ];
}

function report(measurements: Measurement[], baseline: number, bare: Measurement[]): string {
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
  if (settings.profile) {
    lines.push(
      '- **Run under the CPU profiler: throughput here is lower than without it; do not quote it.**',
    );
  }
  lines.push('');
  for (const m of measurements) {
    if (m.target.key === 'bare') continue;
    const latency = m.target.reportLatency ? ` (p50 ${formatMs(m.p50)} ms, p99 ${formatMs(m.p99)} ms)` : '';
    lines.push(
      `- ${m.backend} · ${m.target.key}: ${formatRps(m.rps)} req/s = ${formatRatio(m.rps / baseline)}× bare node:http${latency}`,
    );
  }
  const rows = measurements.map((m) => [
    m.backend,
    m.target.label,
    formatRps(m.rps),
    `${formatRatio(m.rps / baseline)}×`,
    m.target.reportLatency ? formatMs(m.p50) : '—',
    m.target.reportLatency ? formatMs(m.p99) : '—',
    formatMicros(m.serverCpuMicrosPerRequest),
    percent(m.serverCpuShare),
    formatMicros(m.databaseCpuMicrosPerRequest),
    percent(m.loadgenCpuShare),
    m.non2xx + m.errors > 0 ? `⚠ ${m.non2xx} / ${m.errors}` : '0 / 0',
  ]);
  lines.push(
    '',
    ...markdownTable(
      [
        ['server', 'left'],
        ['path', 'left'],
        ['req/s', 'right'],
        ['× bare', 'right'],
        ['p50 ms', 'right'],
        ['p99 ms', 'right'],
        ['server CPU µs/req', 'right'],
        ['server CPU', 'right'],
        ['PostgreSQL CPU µs/req', 'right'],
        ['load-gen CPU', 'right'],
        ['non-2xx / errors', 'right'],
      ],
      rows,
    ),
  );
  lines.push(
    '',
    'Server CPU is the server process’s user+system time (all its threads, so argon2 and WebCrypto on',
    'libuv’s pool count) per request and as a share of one core; PostgreSQL CPU is every local `postgres`',
    'process’s; load-gen CPU is this process’s (near 100% means the baseline is bounded by the load generator).',
  );
  const profiled = measurements.filter((m) => m.profileFile);
  if (profiled.length > 0) {
    lines.push('', '## CPU profiles (server main thread, measured window only)');
    for (const m of profiled) {
      const { profile, requests } = loadProfile(m.profileFile!);
      lines.push(
        '',
        formatSummary(
          `${m.backend} · ${m.target.key} — ${path.relative(process.cwd(), m.profileFile!)}`,
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
  busyAtStart = await cpuBusyShare(1000);
  if (busyAtStart !== null && busyAtStart > BUSY_SHARE) {
    process.stderr.write(
      `bench: the CPU is ${percent(busyAtStart)} busy already: other work will skew the figures\n`,
    );
  }
  const backends = 1 + (settings.databaseUrl ? 1 : 0);
  const runs = 2 + backends * settings.paths.length;
  // Watchdog: the whole run is bounded even if a server hangs.
  const budgetMs = (runs * (settings.warmup + settings.duration + 15) + backends * 120 + 60) * 1000;
  setTimeout(() => {
    process.stderr.write(`bench: exceeded its ${Math.round(budgetMs / 1000)} s budget; stopping\n`);
    void runCleanups().finally(() => process.exit(1));
  }, budgetMs).unref();

  const measurements: Measurement[] = [];
  const before = await benchBare('bare node:http');
  measurements.push(before);
  if (settings.paths.length > 0) measurements.push(...(await benchOrgplane('Orgplane · PGlite', {})));
  const url = settings.databaseUrl;
  if (url && settings.paths.length > 0) {
    measurements.push(
      ...(await withPostgresSchema(url, (schema) =>
        benchOrgplane('Orgplane · PostgreSQL', {
          DATABASE_URL: url,
          BENCH_SCHEMA: schema,
          ORGPLANE_MASTER_KEY: randomBytes(32).toString('base64'),
        }),
      )),
    );
  }
  const after = await benchBare('bare node:http (after)');
  measurements.push(after);
  const baseline = (before.rps + after.rps) / 2;

  const text = report(measurements, baseline, [before, after]);
  process.stdout.write(`\n${text}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), text);
  process.stderr.write(`\nwritten to ${path.relative(process.cwd(), path.join(RESULTS_DIR, 'latest.md'))}\n`);
  if (measurements.some((m) => m.non2xx > 0 || m.errors > 0)) process.exitCode = 1;
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
