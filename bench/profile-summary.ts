// Summarises a V8 .cpuprofile (from `BENCH_PROFILE=1 npm run bench`, or `node --cpu-prof`): where
// the server's main thread spent its time, by layer (JWT, PGlite, pg driver, Kysely, Fastify,
// Orgplane's code, node core, GC) and by function, both self time and inclusive time.
//
//   node --import tsx bench/profile-summary.ts bench/results/profiles/*.cpuprofile
//
// A layer gets the time of its own frames *and* of the node-core or native frames it called (a
// WebCrypto job started by jose counts as JWT, PGlite's fstat calls as PGlite); socket writes are
// split by who they go to (the HTTP client or PostgreSQL). With a `<profile>.json` beside the
// profile (measure.ts writes one: `{"requests": N}`), times are also given per request.
//
// The profiler samples the main thread's stack on a wall-clock timer: time the thread spent
// descheduled (in a syscall that woke another process or thread, on a busy machine) is charged to
// that call. Inclusive times follow synchronous stacks: after an `await`, time goes to whatever
// resumed the function (usually the microtask queue), not to its caller.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markdownTable } from './markdown.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The package, `node:<module>`, `orgplane`, or a pseudo-frame a frame belongs to. */
export function componentOf(frame: CallFrame): string {
  const { functionName, url } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return '(program)';
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(root)') return '(root)';
  if (url.startsWith('wasm://')) return 'PGlite (WebAssembly)';
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) {
    const name = url.slice('node:'.length).replace(/^internal\//, '');
    return `node:${name.split('/')[0]}`;
  }
  if (url.includes('/packages/server/src/')) return 'orgplane';
  if (url.includes('/bench/')) return 'bench harness';
  return url;
}

const LAYERS: Array<[layer: string, components: RegExp]> = [
  ['JWT sign / verify (jose, WebCrypto)', /^jose$/],
  [
    'PGlite (WASM, JS glue, file I/O)',
    /^(PGlite \(WebAssembly\)|@electric-sql\/pglite|kysely-pglite-dialect)$/,
  ],
  [
    'pg driver (protocol, row parsing)',
    /^(pg|pg-protocol|pg-pool|pg-types|postgres-.*|pg-connection-string)$/,
  ],
  ['Kysely (query building, compiling)', /^kysely$/],
  [
    'Fastify (routing, hooks, schemas, serialisation)',
    /^(fastify|@fastify\/.*|find-my-way|fast-json-stringify|fast-querystring|fast-uri|ajv|avvio|light-my-request|toad-cache|safe-regex2|rfdc|fast-decode-uri-component)$/,
  ],
  ['metrics (prom-client)', /^prom-client$/],
  ['logging (pino)', /^(pino.*|@pinojs\/.*)$/],
  ['Orgplane code', /^orgplane$/],
];

const SOCKET_WRITES = new Set([
  'writev',
  'writeBuffer',
  'writeUtf8String',
  'writeLatin1String',
  'writeAsciiString',
]);

/** The layer a sample belongs to, from its stack (leaf first). */
function layerOf(stack: CallFrame[]): string {
  const leaf = stack[0]!;
  const components = stack.map(componentOf);
  if (leaf.functionName === '(idle)') return 'idle';
  if (leaf.functionName === '(garbage collector)') return 'GC';
  if (leaf.functionName === '(program)') return '(program: V8 internals, unattributed)';
  if (SOCKET_WRITES.has(leaf.functionName)) {
    return components.some((c) => /^(pg|pg-protocol|pg-pool)$/.test(c))
      ? 'socket writes → PostgreSQL'
      : 'socket writes → HTTP responses';
  }
  // jose and PGlite own everything below them (WebCrypto jobs; PGlite's fs calls and callbacks).
  for (const [layer, pattern] of LAYERS.slice(0, 2)) {
    if (components.some((c) => pattern.test(c))) return layer;
  }
  // Otherwise the nearest library frame above node core and native code takes the time.
  for (const component of components) {
    if (component.startsWith('node:') || component.startsWith('(')) continue;
    for (const [layer, pattern] of LAYERS) if (pattern.test(component)) return layer;
    return `other: ${component}`;
  }
  return 'node core (HTTP parsing, streams, timers)';
}

function frameLabel(frame: CallFrame): string {
  let location = frame.url;
  if (location.startsWith('file://')) {
    location = path.relative(ROOT, fileURLToPath(location));
    const modules = location.lastIndexOf('node_modules/');
    if (modules >= 0) location = location.slice(modules + 'node_modules/'.length);
  }
  // Minified bundles are one long line: the column tells their functions apart.
  const where = location ? ` ${location}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}${where}`;
}

interface Row {
  label: string;
  component: string;
  micros: number;
}

export interface ProfileSummary {
  totalMicros: number;
  /** Requests served during the profile, when known: times are then also given per request. */
  requests: number | null;
  byLayer: Row[];
  selfByFunction: Row[];
  inclusiveByFunction: Row[];
}

export function summariseProfile(profile: CpuProfile, requests: number | null = null): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  // Sample i lasts until sample i+1 starts.
  const selfByNode = new Map<number, number>();
  let totalMicros = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + delta);
    totalMicros += delta;
  }

  const byLayer = new Map<string, number>();
  const self = new Map<string, Row>();
  const inclusive = new Map<string, Row>();
  for (const [id, micros] of selfByNode) {
    const stack: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      stack.push(byId.get(at)!.callFrame);
    }
    const layer = layerOf(stack);
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + micros);
    const leaf = stack[0]!;
    const label = frameLabel(leaf);
    const row = self.get(label) ?? { label, component: componentOf(leaf), micros: 0 };
    row.micros += micros;
    self.set(label, row);
    // Inclusive: every distinct function on this stack gets the sample's time once.
    const seen = new Set<string>();
    for (const frame of stack) {
      const key = frameLabel(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      const total = inclusive.get(key) ?? { label: key, component: componentOf(frame), micros: 0 };
      total.micros += micros;
      inclusive.set(key, total);
    }
  }
  const sorted = (rows: Iterable<Row>) => [...rows].sort((a, b) => b.micros - a.micros);
  return {
    totalMicros,
    requests,
    byLayer: sorted([...byLayer].map(([layer, micros]) => ({ label: layer, component: layer, micros }))),
    selfByFunction: sorted(self.values()),
    inclusiveByFunction: sorted(inclusive.values()).filter((row) => !row.component.startsWith('(')),
  };
}

export function formatSummary(title: string, summary: ProfileSummary, top = 15): string {
  const { totalMicros, requests } = summary;
  const pct = (micros: number) => `${((100 * micros) / Math.max(1, totalMicros)).toFixed(1)}%`;
  const perRequest = (micros: number) => (requests ? `${(micros / requests).toFixed(0)} µs` : '—');
  const about = requests
    ? `${(totalMicros / 1000).toFixed(0)} ms of main-thread samples, ${requests.toLocaleString('en-US')} requests: ${perRequest(totalMicros)} per request`
    : `${(totalMicros / 1000).toFixed(0)} ms of main-thread samples`;
  const lines = [`### Profile: ${title}`, '', `${about}.`, ''];
  lines.push(
    'Main-thread time by layer (node-core and native calls charged to the library that made them):',
    '',
    ...markdownTable(
      [
        ['layer', 'left'],
        ['share', 'right'],
        ['per request', 'right'],
      ],
      summary.byLayer
        .filter((row) => row.micros >= totalMicros / 2000)
        .map((row) => [row.label, pct(row.micros), perRequest(row.micros)]),
    ),
  );
  const functions = (rows: Row[], count: number) =>
    rows.slice(0, count).map((row) => [`\`${row.label}\``, row.component, pct(row.micros)]);
  lines.push(
    '',
    `Top ${top} functions by self time:`,
    '',
    ...markdownTable(
      [
        ['function', 'left'],
        ['component', 'left'],
        ['self', 'right'],
      ],
      functions(summary.selfByFunction, top),
    ),
  );
  lines.push(
    '',
    'Top 10 functions by inclusive (synchronous) time:',
    '',
    ...markdownTable(
      [
        ['function', 'left'],
        ['component', 'left'],
        ['inclusive', 'right'],
      ],
      functions(summary.inclusiveByFunction, 10),
    ),
  );
  return lines.join('\n');
}

/** Reads a profile and, if measure.ts left one beside it, its `{ "requests": N }` sidecar. */
export function loadProfile(file: string): { profile: CpuProfile; requests: number | null } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const sidecar = file.replace(/\.cpuprofile$/, '.json');
  let requests: number | null = null;
  if (sidecar !== file && existsSync(sidecar)) {
    const meta = JSON.parse(readFileSync(sidecar, 'utf8')) as { requests?: unknown };
    if (typeof meta.requests === 'number') requests = meta.requests;
  }
  return { profile, requests };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile...');
    process.exit(64);
  }
  const summaries = files.map((file) => {
    const { profile, requests } = loadProfile(file);
    return formatSummary(path.basename(file), summariseProfile(profile, requests));
  });
  console.log(summaries.join('\n\n'));
}
