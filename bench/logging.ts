// The bench measures Orgplane as `npm start` runs it first — the default LOG_LEVEL (info: one
// access-log line per request) with the server's stdout going to a file — and with
// LOG_LEVEL=silent second. Issue 11 found the default costing about twice the server CPU per
// request of the silent figures the bench used to quote (a pino child logger and an fs.write on
// libuv's thread pool per line, ADR 18), so the default is what its targets are checked on.
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';

export type LoggingMode = 'default' | 'silent';

const MODES: readonly LoggingMode[] = ['default', 'silent'];

/** BENCH_LOGGING: `default`, `silent`, or both (the default), always in that order. */
export function loggingModes(raw: string | undefined): LoggingMode[] {
  if (!raw?.trim()) return [...MODES];
  const wanted = raw.split(',').map((mode) => mode.trim());
  for (const mode of wanted) {
    if (!(MODES as readonly string[]).includes(mode)) {
      throw new Error(`BENCH_LOGGING: unknown mode "${mode}" (known: ${MODES.join(', ')})`);
    }
  }
  return MODES.filter((mode) => wanted.includes(mode));
}

export function modeLabel(mode: LoggingMode): string {
  return mode === 'default' ? 'default logging' : 'silent';
}

/** The server's LOG_LEVEL: unset (the product's default, info) or silent. */
export function modeEnv(mode: LoggingMode): Record<string, string> {
  return { LOG_LEVEL: mode === 'default' ? '' : 'silent' };
}

/**
 * Lowest acceptable req/s as a share of bare node:http's, same run, per path and logging mode:
 * issue 11's with default logging, issue 3's with logging silent (as first set).
 */
export const RATIO_TARGETS: Record<LoggingMode, Record<string, number>> = {
  default: { 'whoami-key': 0.55, token: 0.35 },
  silent: { 'whoami-key': 0.6, 'whoami-jwt': 0.5, token: 0.25 },
};

/** Issue 11: logging on may cost at most this share of the silent throughput on the hot paths. */
export const LOGGING_COST_TARGET = 0.1;
const COST_PATHS = ['healthz', 'whoami-jwt', 'whoami-key', 'token'];

/** A file for the server's stdout; what it holds afterwards is reported as proof that it logged. */
export function openLogFile(file: string): number {
  return openSync(file, 'w');
}

export function logFileStats(file: string, fd: number): { bytes: number; lines: number } {
  closeSync(fd);
  const bytes = statSync(file).size;
  let lines = 0;
  for (const byte of readFileSync(file)) if (byte === 10) lines++;
  return { bytes, lines };
}

interface Row {
  backend: string;
  mode: LoggingMode;
  key: string;
  label: string;
  rps: number;
  /** Server CPU (user + system) per request, µs: steadier than req/s on a shared machine. */
  cpuMicros: number;
  clean: boolean;
}

export interface CostResult {
  backend: string;
  what: string;
  goal: string;
  measured: string;
  pass: boolean;
}

/** Default-logging req/s ÷ silent req/s, per backend and hot path measured in both modes. */
export function loggingCosts(rows: Row[]): CostResult[] {
  const results: CostResult[] = [];
  for (const on of rows) {
    if (on.mode !== 'default' || !COST_PATHS.includes(on.key)) continue;
    const off = rows.find((r) => r.mode === 'silent' && r.backend === on.backend && r.key === on.key);
    if (!off) continue;
    const cost = 1 - on.rps / off.rps;
    results.push({
      backend: on.backend,
      what: `${on.label}: cost of default logging (1 − req/s ÷ silent req/s)`,
      goal: `≤ ${Math.round(LOGGING_COST_TARGET * 100)}%`,
      measured: `${(cost * 100).toFixed(1)}% (CPU ${on.cpuMicros.toFixed(1)} vs ${off.cpuMicros.toFixed(1)} µs/req)`,
      pass: cost <= LOGGING_COST_TARGET && on.clean && off.clean,
    });
  }
  return results;
}
