// Which log destination costs least per access-log line (ADR 18)? One process per candidate (so
// none inherits another's JIT state or heap), writing `LINES` access-log lines to a file as fast as
// it can, in bursts of 100 with a macrotask between them (as requests would). Reports CPU of the
// whole process (all threads: a transport's worker and libuv's pool included) per line, wall time
// per line, and peak RSS.
//
//   node --import tsx bench/log-destinations.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CANDIDATES = [
  'pino default (sonic-boom, minLength 0)',
  'pino.destination minLength 8 KiB',
  'pino transport (pino/file, worker thread)',
  'pino + LogDestination',
  'hand-built line + LogDestination',
];
const LINES = 200_000;

async function child(which: number, file: string) {
  const { default: pino } = await import('pino');
  const { LogDestination } = await import('../packages/server/src/platform/log-destination.ts');
  const { loggerOptions } = await import('../packages/server/src/platform/logger.ts');
  const { openSync } = await import('node:fs');
  const request = {
    id: 'c6f1d1c2-5b8a-4f5e-9d0c-0f2b6b0f9a11',
    method: 'GET',
    url: '/api/v1/auth/whoami',
    host: '127.0.0.1:8080',
    ip: '127.0.0.1',
    socket: { remotePort: 51234 },
  };
  const fields = { reqId: request.id, req: request, res: { statusCode: 200 }, responseTime: 0.3123 };
  let write: () => void;
  let end: () => Promise<void> = async () => {};
  if (which === 4) {
    const { accessLogLine } = await import('../packages/server/src/platform/logger.ts');
    const destination = new LogDestination(openSync(file, 'w'));
    write = () => destination.write(accessLogLine(request as never, 200, 0.3123));
    end = async () => destination.flushSync(5_000);
  } else {
    const stream =
      which === 0
        ? pino.destination({ dest: file, sync: false, minLength: 0 })
        : which === 1
          ? pino.destination({ dest: file, sync: false, minLength: 8 * 1024 })
          : which === 2
            ? pino.transport({ target: 'pino/file', options: { destination: file } })
            : new LogDestination(openSync(file, 'w'));
    const logger = pino(loggerOptions('info'), stream);
    write = () => logger.info(fields, 'request completed');
    end = async () => {
      if (which === 2) {
        // The worker writes after the main thread has handed the lines over: wait for it.
        await new Promise((resolve) => logger.flush(() => resolve(undefined)));
      } else if (which === 3) (stream as InstanceType<typeof LogDestination>).flushSync(5_000);
      else (stream as { flushSync(): void }).flushSync();
    };
  }
  // Warm up, then measure.
  for (let i = 0; i < 20_000; i++) write();
  await new Promise((r) => setTimeout(r, 200));
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let done = 0; done < LINES; done += 100) {
    for (let i = 0; i < 100; i++) write();
    await new Promise((r) => setImmediate(r));
  }
  const wall = performance.now() - started;
  await end();
  const used = process.cpuUsage(cpu);
  const hwm = /VmHWM:\s+(\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))?.[1];
  process.stdout.write(
    JSON.stringify({
      cpu: (used.user + used.system) / LINES,
      wall: (wall * 1000) / LINES,
      rss: Number(hwm) / 1000,
    }),
  );
}

if (process.argv[2] === 'child') {
  await child(Number(process.argv[3]), process.argv[4] as string);
} else {
  const dir = mkdtempSync(path.join(tmpdir(), 'orgplane-logdest-bench-'));
  console.log(
    '| destination | CPU µs/line (all threads) | main thread wall µs/line | peak RSS MB | bytes written |',
  );
  console.log('|---|---:|---:|---:|---:|');
  try {
    for (let round = 0; round < 2; round++) {
      for (const [i, name] of CANDIDATES.entries()) {
        const file = path.join(dir, `${round}-${i}.log`);
        const out = execFileSync(
          process.execPath,
          ['--import', 'tsx', import.meta.filename, 'child', String(i), file],
          { encoding: 'utf8' },
        );
        const r = JSON.parse(out);
        console.log(
          `| ${name} | ${r.cpu.toFixed(2)} | ${r.wall.toFixed(2)} | ${r.rss.toFixed(0)} | ${statSync(file).size.toLocaleString('en-US')} |`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
