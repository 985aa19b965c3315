// The markdown report: the environment (machine, Node lines, how busy it was), the baseline and its
// drift, one line and one table row per measured path, the scale section, the targets with PASS or
// FAIL, and the CPU profiles' summaries; printed on stdout and written to bench/results/latest.md.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { LogVolume } from './backends.ts';
import {
  formatCount,
  formatMb,
  formatMicros,
  formatMs,
  formatRatio,
  formatRps,
  percent,
  verdict,
} from './format.ts';
import { type CostResult, loggingCosts } from './logging.ts';
import { markdownTable } from './markdown.ts';
import { type Measurement, OTHER_CPU_WARNING } from './measure.ts';
import { BUSY_SHARE, loadAtStart } from './proc-usage.ts';
import { formatSummary, loadProfile, summariseProfile } from './profile-summary.ts';
import { SCALE_KEYS, type ScaleResult } from './scale.ts';
import { BENCH_DIR, SERVER_NODE_VERSION, settings } from './settings.ts';
import { ratioTarget, scaleTargets, type TargetResult } from './targets.ts';

const DRIFT_WARNING = 0.15;

/** `busyAtStart`: the share of all cores busy in the second before the load runs (null: unknown). */
function describeEnvironment(busyAtStart: number | null): string[] {
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
    otherCpuCell(m),
    formatMb(m.peakRss),
    formatMb(m.databasePeakRss),
    failuresCell(m),
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
      otherCpuCell(m),
      formatMb(m.peakRss),
      formatMb(m.databasePeakRss),
      failuresCell(m),
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

/** `logVolumes`: what each default-logging server wrote to its stdout file. */
export function report(
  measurements: Measurement[],
  baseline: number,
  bare: Measurement[],
  scale: ScaleResult[],
  logVolumes: readonly LogVolume[],
  busyAtStart: number | null,
): string {
  const lines: string[] = ['# Orgplane benchmark', ''];
  lines.push(...describeEnvironment(busyAtStart));
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

/** Other processes' CPU share in a window, flagged when it disturbs the figures. */
function otherCpuCell(m: Measurement): string {
  if (m.otherCpuShare === null) return '—';
  return `${m.otherCpuShare > OTHER_CPU_WARNING ? '⚠ ' : ''}${percent(m.otherCpuShare)}`;
}

/** Non-2xx answers and transport errors under load, flagged when there were any. */
function failuresCell(m: Measurement): string {
  return m.non2xx + m.errors > 0 ? `⚠ ${m.non2xx} / ${m.errors}` : '0 / 0';
}
