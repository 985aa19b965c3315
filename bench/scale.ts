// The opt-in `scale` path: whether an API key costs the same with 1,000 or 1,000,000 keys stored.
// 200 real keys made through the API, bulk rows inserted through the server child's own database
// handle, and each size measured in a freshly started server (see bench/README.md, `scale`).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { orgplaneEnv } from './backends.ts';
import { cleanups } from './cleanups.ts';
import { formatCount } from './format.ts';
import { type Measurement, measure, percentile } from './measure.ts';
import { type Account, createApiKey, KEY_SCOPES, signUp } from './orgplane-api.ts';
import { checkWhoami } from './paths.ts';
import { ServerChild } from './server-child.ts';
import type { MemoryReport } from './servers/control.ts';
import { settings } from './settings.ts';

/** Scale: real keys (made through the API) rotated across requests; rows in the small table. */
export const SCALE_KEYS = 200;
const SCALE_SMALL_ROWS = 1_000;
/** Bulk rows per insert statement (each one IPC call), so no statement holds a million rows. */
const SCALE_BATCH = 100_000;

export interface ScalePoint {
  rows: number;
  measurement: Measurement;
  /** Each key's first request to a freshly started server (a cache miss: one indexed lookup), in turn. */
  firstUse: { p50: number; p99: number };
}

export interface ScaleResult {
  backend: string;
  points: [small: ScalePoint, large: ScalePoint];
  /** Growing the table from the small size to the large one: seconds, and that server's peak RSS. */
  growSeconds: number;
  growPeakRss: number | null;
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
export async function benchScale(backend: string, overrides: Record<string, string>): Promise<ScaleResult> {
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
