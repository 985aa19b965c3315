// The log destination against a real pipe (a FIFO whose both ends this process holds, so the test
// decides when the reader reads, stalls or goes away), and in child processes that exit or crash.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogDestination } from './log-destination.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'orgplane-logdest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Both ends of a fresh FIFO, non-blocking: a 64 KiB pipe that only `read()` drains. */
function pipe(): { readFd: number; writeFd: number; read(): string } {
  const fifo = path.join(dir, `p${Math.random().toString(36).slice(2)}`);
  execFileSync('mkfifo', [fifo]);
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const buffer = Buffer.alloc(1 << 20);
  return {
    readFd,
    writeFd,
    read() {
      let text = '';
      for (;;) {
        try {
          const n = readSync(readFd, buffer);
          if (n === 0) return text;
          text += buffer.toString('utf8', 0, n);
        } catch {
          return text; // EAGAIN: nothing more for now
        }
      }
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const info = (i: number) => `{"level":30,"n":${i},"msg":"${'x'.repeat(90)}"}\n`;

describe.runIf(process.platform === 'linux')('LogDestination', () => {
  it('writes info lines in batches (at minLength, or after flushIntervalMs) and warn and above at once', async () => {
    const p = pipe();
    const destination = new LogDestination(p.writeFd, { minLength: 1000, flushIntervalMs: 50 });
    destination.write(info(1));
    expect(p.read()).toBe('');
    await sleep(100);
    expect(p.read()).toBe(info(1));
    // Lines of 118 characters: eight wait (944), the ninth makes a batch (1,062).
    for (let i = 0; i < 8; i++) destination.write(info(i));
    expect(p.read()).toBe('');
    destination.write(info(8));
    expect(p.read()).toBe(Array.from({ length: 9 }, (_, i) => info(i)).join(''));
    destination.write(info(1));
    destination.write('{"level":50,"msg":"boom"}\n');
    expect(p.read()).toBe(`${info(1)}{"level":50,"msg":"boom"}\n`);
    closeSync(p.readFd);
    closeSync(p.writeFd);
  });

  it('keeps at most maxBuffered for a stalled reader, drops the rest, and says so when it drains', async () => {
    const p = pipe();
    const destination = new LogDestination(p.writeFd, {
      minLength: 0,
      flushIntervalMs: 10,
      maxBuffered: 100_000,
      droppedNotice: (n) => `{"level":40,"dropped":${n}}\n`,
    });
    // 2,000 lines of 118 characters: 64 KiB fit in the pipe, 100,000 characters wait, the rest go.
    const accepted = Array.from({ length: 2_000 }, (_, i) => destination.write(info(i))).filter(Boolean);
    expect(accepted.length).toBeLessThan(2_000);
    expect(destination.dropped).toBe(2_000 - accepted.length);
    expect(accepted.length * 118).toBeLessThanOrEqual(65_536 + 100_000);
    let text = '';
    for (let i = 0; i < 50 && !text.includes('"dropped"'); i++) {
      text += p.read();
      await sleep(20);
    }
    destination.write(info(-1));
    await sleep(50);
    text += p.read();
    const lines = text.trim().split('\n');
    // Every accepted line in order, then the notice, then what came after it.
    expect(lines.slice(0, accepted.length)).toEqual(Array.from(accepted, (_, i) => info(i).trim()));
    expect(JSON.parse(lines[accepted.length] as string)).toEqual({ level: 40, dropped: destination.dropped });
    expect(lines.slice(accepted.length + 1)).toEqual([info(-1).trim()]);
    closeSync(p.readFd);
    closeSync(p.writeFd);
  });

  it('stops writing once the reader is gone (EPIPE), without throwing or retrying', () => {
    const p = pipe();
    const destination = new LogDestination(p.writeFd, { minLength: 0 });
    destination.write(info(1));
    expect(p.read()).toBe(info(1));
    closeSync(p.readFd);
    destination.write(info(2));
    expect(destination.write(info(3))).toBe(false);
    expect(destination.dropped).toBe(2);
    const started = Date.now();
    destination.flushSync(5_000);
    expect(Date.now() - started).toBeLessThan(50);
    closeSync(p.writeFd);
  });

  it('at exit, waits for a stalled reader no longer than its deadline', () => {
    const p = pipe();
    const destination = new LogDestination(p.writeFd, { minLength: 0 });
    for (let i = 0; i < 1_000; i++) destination.write(info(i)); // 118 KB: more than the pipe holds
    const started = Date.now();
    destination.flushSync(300);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1_000);
    closeSync(p.readFd);
    closeSync(p.writeFd);
  });
});

describe('the stdout destination of a process', () => {
  const module = path.join(import.meta.dirname, 'log-destination.ts');
  const run = (ending: string) => {
    const file = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const fd = openSync(file, 'w');
    const script = `
      import { stdoutDestination } from ${JSON.stringify(module)};
      const destination = stdoutDestination();
      for (let i = 0; i < 500; i++) destination.write('{"level":30,"n":' + i + '}\\n');
      ${ending}`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', fd, 'pipe'],
      cwd: path.join(import.meta.dirname, '..', '..'),
    });
    closeSync(fd);
    return { status: child.status, lines: readFileSync(file, 'utf8').trim().split('\n') };
  };

  it('writes every line before process.exit', () => {
    const { status, lines } = run('process.exit(3);');
    expect(status).toBe(3);
    expect(lines).toHaveLength(500);
    expect(lines.at(-1)).toBe('{"level":30,"n":499}');
  });

  it('writes every line before an uncaught exception ends the process (no exit event then)', () => {
    const { status, lines } = run("setTimeout(() => { throw new Error('crash'); }, 1);");
    expect(status).toBe(1);
    expect(lines).toHaveLength(500);
    expect(lines.at(-1)).toBe('{"level":30,"n":499}');
  });
});
