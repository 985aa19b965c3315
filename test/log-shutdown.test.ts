// The server's stdout as operators wire it: a real pipe (a FIFO) read by a real process that can
// stall (SIGSTOP) or exit (SIGKILL), or a file. Issue 11: with a stalled or gone reader, SIGTERM
// never ended the process (pino's exit flush retried EAGAIN/EPIPE every 100 ms on the main thread,
// for ever, so no second signal could run either), and a stalled reader made the server keep every
// log line in memory. ADR 18.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from './harness.ts';

const MAIN = path.resolve(import.meta.dirname, '../packages/server/src/main.ts');
const dir = mkdtempSync(path.join(tmpdir(), 'orgplane-logs-'));
const processes: ChildProcess[] = [];
let databaseEnv: Record<string, string>;
let dropSchema = async () => {};

beforeAll(async () => {
  if (!onPostgres) {
    // A data directory per server (startServer), so a server that fails to stop fails one test only.
    databaseEnv = { DATABASE_URL: '', ORGPLANE_MASTER_KEY: '' };
    return;
  }
  const base = process.env.TEST_DATABASE_URL as string;
  const schema = `logs_${randomBytes(5).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    await client.query(statement).finally(() => client.end());
  };
  await admin(`CREATE SCHEMA ${schema}`);
  dropSchema = () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const options = encodeURIComponent(`-c search_path=${schema}`);
  databaseEnv = {
    DATABASE_URL: `${base}${base.includes('?') ? '&' : '?'}options=${options}`,
    ORGPLANE_MASTER_KEY: randomBytes(32).toString('base64'),
  };
});

afterAll(async () => {
  for (const child of processes)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await dropSchema();
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Server {
  child: ChildProcess;
  url: string;
  port: number;
  stderr: () => string;
  /** Resolves with the exit code (or signal) and the ms since `signalled` was set. */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** A reader process on a FIFO: the server's stdout is a real pipe, as in `orgplane | reader`. */
async function pipeReader(): Promise<{ reader: ChildProcess; writeFd: number; close: () => Promise<void> }> {
  const fifo = path.join(dir, `stdout-${randomBytes(4).toString('hex')}`);
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('sh', ['-c', 'exec cat "$0" > /dev/null', fifo], { stdio: 'ignore' });
  processes.push(reader);
  // Opening a FIFO for writing waits for its reader (on the thread pool, not the event loop).
  const handle = await open(fifo, 'w');
  return { reader, writeFd: handle.fd, close: () => handle.close() };
}

/** The server's stdout is `stdout`, which this process closes once the server has it. */
async function startServer(stdout: number, close: () => unknown): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: {
      ...process.env,
      ...databaseEnv,
      ...(onPostgres ? {} : { ORGPLANE_DATA_DIR: path.join(dir, `data-${port}`) }),
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', stdout, 'pipe'],
  });
  processes.push(child);
  await close();
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { child, url, port, stderr: () => stderr, exited };
    await sleep(100);
  }
  throw new Error(`the server did not become ready:\n${stderr}`);
}

/** `amount` requests on 10 connections; every one must be answered 200. */
async function load(url: string, amount: number): Promise<void> {
  const result = await autocannon({ url, connections: 10, amount, timeout: 10 });
  expect(result.errors + result.timeouts).toBe(0);
  expect(result['2xx']).toBe(amount);
}

/** Milliseconds until the process exits, or Infinity if it has not within `withinMs`. */
async function exitTime(server: Server, withinMs: number): Promise<number> {
  const started = Date.now();
  const exited = await Promise.race([server.exited.then(() => true), sleep(withinMs).then(() => false)]);
  return exited ? Date.now() - started : Number.POSITIVE_INFINITY;
}

/** CPU time (user + system) of a process in ms, from /proc. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** A request the server cannot finish: its body never comes, so closing waits for it. */
function hangingRequest(port: number): () => void {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(
    'POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
  );
  return () => socket.destroy();
}

describe.runIf(process.platform === 'linux')('logging to a stdout that does not drain', () => {
  it('a stalled reader under load: the server keeps answering; SIGTERM ends it at once, and again once the reader has exited', async () => {
    const { reader, writeFd, close } = await pipeReader();
    const server = await startServer(writeFd, close);
    process.kill(reader.pid as number, 'SIGSTOP');
    // Well past what the pipe holds (64 KiB, ~200 access-log lines): the log waits in the server.
    await load(`${server.url}/healthz`, 3_000);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    server.child.kill('SIGTERM');
    // The reader gives up soon after (a pipeline torn down): the server meets EPIPE on its way out.
    setTimeout(() => reader.kill('SIGKILL'), 300);
    const ms = await exitTime(server, 10_000);
    expect(ms, server.stderr()).toBeLessThan(3_000);
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  it('a reader that has exited: requests are still answered, and SIGTERM ends the server', async () => {
    const { reader, writeFd, close } = await pipeReader();
    const server = await startServer(writeFd, close);
    reader.kill('SIGKILL');
    await new Promise((resolve) => reader.once('exit', resolve));
    await load(`${server.url}/healthz`, 1_000);
    const cpuBefore = cpuMs(server.child.pid as number);
    await sleep(1_000);
    // Idle with every write failing (EPIPE): no retry loop.
    expect(cpuMs(server.child.pid as number) - cpuBefore).toBeLessThan(200);
    server.child.kill('SIGTERM');
    expect(await exitTime(server, 10_000), server.stderr()).toBeLessThan(3_000);
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  it('a shutdown held up by a request ends at a second signal, and by itself within the 10 s grace', async () => {
    for (const second of ['SIGINT', null] as const) {
      const { reader, writeFd, close } = await pipeReader();
      const server = await startServer(writeFd, close);
      process.kill(reader.pid as number, 'SIGSTOP');
      await load(`${server.url}/healthz`, 2_000);
      const release = hangingRequest(server.port);
      await sleep(200);
      server.child.kill('SIGTERM');
      // Still waiting for the request, as a graceful shutdown should.
      expect(await exitTime(server, 1_000)).toBe(Number.POSITIVE_INFINITY);
      if (second) {
        server.child.kill(second);
        expect(await exitTime(server, 5_000), server.stderr()).toBeLessThan(2_000);
      } else {
        // close-with-grace gives up after 9.5 s, then at most 0.5 s for the log.
        expect(await exitTime(server, 15_000), server.stderr()).toBeLessThan(10_000);
      }
      expect((await server.exited).code).toBe(1);
      release();
      reader.kill('SIGKILL');
    }
  }, 60_000);

  it('a stalled reader under load does not make the server keep every log line (RSS bounded)', async () => {
    const { reader, writeFd, close } = await pipeReader();
    const server = await startServer(writeFd, close);
    const pid = server.child.pid as number;
    // Warm the server up first, with the reader still reading, so the JIT and heap are settled.
    const long = `${server.url}/healthz?pad=${'x'.repeat(4_000)}`;
    await load(long, 2_000);
    const before = rssMb(pid);
    process.kill(reader.pid as number, 'SIGSTOP');
    // ~4 KB per access-log line × 20,000 = ~85 MB of log that cannot be written.
    await load(long, 20_000);
    const grown = rssMb(pid) - before;
    // Measured: +71 MB before the bound (every line kept), +5 MB with it (4 MiB of lines wait).
    expect(grown).toBeLessThan(30);
    reader.kill('SIGKILL');
    server.child.kill('SIGTERM');
    expect(await exitTime(server, 10_000)).toBeLessThan(3_000);
  }, 60_000);
});

describe.runIf(process.platform === 'linux')('log lines are not lost', () => {
  it('on a normal SIGTERM the last access-log lines and "shutting down" reach the file', async () => {
    const file = path.join(dir, 'server.log');
    const fd = openSync(file, 'w');
    const server = await startServer(fd, () => closeSync(fd));
    const marks = Array.from({ length: 5 }, () => randomBytes(6).toString('hex'));
    for (const mark of marks) expect((await fetch(`${server.url}/healthz?mark=${mark}`)).status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    for (const mark of marks) expect(lines.some((line) => line.includes(`mark=${mark}`))).toBe(true);
    const last = JSON.parse(lines.at(-1) as string);
    expect(last).toMatchObject({ level: 30, signal: 'SIGTERM', msg: 'shutting down' });
  });
});
