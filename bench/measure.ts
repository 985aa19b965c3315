// One path measured against one server: its answer checked once (a 401 benchmarks nothing), a
// warmup, then the measured window under autocannon, with the CPU time of the server, its database,
// this process and everything else read around it, the server's peak RSS, and (BENCH_PROFILE) a
// CPU profile of exactly that window.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { formatRps, percent } from './format.ts';
import type { LoggingMode } from './logging.ts';
import {
  childPids,
  machineCpuMicros,
  postgresCpuMicros,
  processesCpuMicros,
  processesPeakRss,
  resetPeaks,
} from './proc-usage.ts';
import type { ServerChild } from './server-child.ts';
import type { MemoryReport } from './servers/control.ts';
import { type PathKey, PROFILES_DIR, settings } from './settings.ts';

export interface Target {
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

export interface Measurement {
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

export function percentile(sorted: Float64Array, p: number): number {
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

/**
 * The embedded database's process (ADR 14: PGlite runs in a child of the server): its pids, to
 * count its CPU and memory as the database's rather than as "other" processes'.
 */
function embeddedDatabasePids(server: ServerChild): string[] {
  return childPids(server.pid);
}

/** Above this share of one core used by other processes during a measured window, flag the row. */
export const OTHER_CPU_WARNING = 0.1;

export async function measure(backend: string, server: ServerChild, target: Target): Promise<Measurement> {
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
