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
// Options: BENCH_* environment variables, all optional (settings.ts lists them; bench/README.md
// documents them).
//
// Load goes only to 127.0.0.1, every run is bounded by BENCH_DURATION, and the whole run by a
// watchdog; the output is a markdown table on stdout and in bench/results/latest.md, with each
// issue target (a ratio to bare node:http, or the scale run's p99 and RSS bounds) marked PASS/FAIL.
//
// This file is the entry point (`npm run bench`): it runs the start-up bench, then the servers in
// order and the watchdog over them, and writes the report. The rest, by what it does:
//   settings.ts      BENCH_* options, paths to the results
//   server-child.ts  a server under test in its own process, and its IPC control channel
//   cleanups.ts      what to undo on exit, interrupt or watchdog
//   backends.ts      bare node:http, Orgplane on PGlite or PostgreSQL (per logging mode)
//   paths.ts         the measured paths and the check each answer must pass before load
//   orgplane-api.ts  setup over HTTP: sign up, log in, API keys
//   measure.ts       one path under load (autocannon): throughput, latency, CPU, memory, profile
//   proc-usage.ts    CPU time and peak RSS from /proc (server, database, machine)
//   scale.ts         the opt-in `scale` path (1,000 vs 1,000,000 API keys stored)
//   targets.ts       the issue targets, PASS or FAIL
//   report.ts        the markdown report; format.ts how its figures are written
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchBare, benchOrgplane, logVolumes, withPostgresSchema } from './backends.ts';
import { runCleanups } from './cleanups.ts';
import { percent } from './format.ts';
import type { Measurement } from './measure.ts';
import { BUSY_SHARE, cpuBusyShare } from './proc-usage.ts';
import { report } from './report.ts';
import { benchScale, type ScaleResult } from './scale.ts';
import { assertLoopbackDatabase, intSetting, loadPaths, RESULTS_DIR, settings } from './settings.ts';
import { benchStartup } from './startup.ts';

async function main() {
  if (settings.databaseUrl) assertLoopbackDatabase(settings.databaseUrl);
  // Start-up time and memory (bench/startup.ts), first: before the load runs, outside their watchdog.
  const startup = await benchStartup(settings.databaseUrl, intSetting('BENCH_STARTUP_RUNS', 5, 0, 50));
  const busyAtStart = await cpuBusyShare(1000);
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

  const text = `${report(measurements, baseline, [before, after], scale, logVolumes, busyAtStart)}\n${startup.join('\n')}\n`;
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
