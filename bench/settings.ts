// The bench's options, read once from the environment (BENCH_*; bench/README.md documents them),
// and where its files live. A bad value stops the run before any server starts.
//
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
//   BENCH_STARTUP_RUNS  read by run.ts when the start-up bench begins (bench/startup.ts)
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loggingModes } from './logging.ts';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const SERVER_NODE_FLAGS = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
export const SERVER_NODE = process.env.BENCH_NODE?.trim() || process.execPath;
export const SERVER_NODE_VERSION = execFileSync(SERVER_NODE, ['-p', 'process.version'], {
  encoding: 'utf8',
}).trim();
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
export const PROFILES_DIR = path.join(RESULTS_DIR, 'profiles');

export function intSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

const PATH_KEYS = ['healthz', 'whoami-jwt', 'whoami-key', 'workspaces', 'token', 'login', 'scale'] as const;
export type PathKey = (typeof PATH_KEYS)[number];
/** Not in the default run: `scale` fills a table with a million rows, twice (see README). */
const OPT_IN: readonly PathKey[] = ['scale'];
/** Older names still accepted. */
const ALIASES: Record<string, PathKey> = { whoami: 'whoami-jwt' };

const flag = (name: string) => ['1', 'true', 'yes'].includes((process.env[name] ?? '').toLowerCase());

export const settings = {
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
export const loadPaths = () => settings.paths.filter((key) => key !== 'scale');

/** Load tests stay on this machine: the database, too, must be on a loopback address or socket. */
export function assertLoopbackDatabase(url: string): void {
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
