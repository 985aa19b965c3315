// The data directory lock (data-dir-lock.ts) with real processes: owners alive and dead, database
// processes that outlive their server, and several processes taking over one stale lock at once.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from './data-dir-lock.ts';

const MODULE = path.resolve(import.meta.dirname, 'data-dir-lock.ts');
const ROOT = path.resolve(import.meta.dirname, '../../../..');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orgplane-lock-'));
  dirs.push(dir);
  return dir;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  return spawnSync('true').pid;
}

function liveProcess(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child as ChildProcess & { pid: number };
}

const lockFile = (dir: string) => path.join(dir, 'orgplane.lock');

// A process that says `ready`, then takes the lock and says `got` (holding it a while) or the error.
const CONTENDER = `
const { lockDataDir } = await import(process.env.LOCK_MODULE);
console.log('ready');
try {
  const lock = await lockDataDir(process.env.DATA_DIR);
  console.log('got');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  lock.release();
} catch (error) {
  console.log(error.constructor.name + ': ' + error.message);
}
`;

function contender(dir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CONTENDER], {
    cwd: ROOT,
    env: { ...process.env, LOCK_MODULE: pathToFileURL(MODULE).href, DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let output = '';
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (chunk) => {
    output += chunk;
    if (output.includes('ready\n')) onReady();
  });
  const exited = new Promise<string>((resolve) => child.on('exit', () => resolve(output)));
  return { pid: child.pid!, ready, exited };
}

describe('the data directory lock', () => {
  it('lets exactly one of several processes take over a stale lock at once', async () => {
    const dir = dataDir();
    // A server killed while its database process is still closing PGlite.
    const database = liveProcess();
    writeFileSync(lockFile(dir), `${deadPid()}\n${database.pid}\n`);
    const contenders = [1, 2, 3, 4].map(() => contender(dir));
    await Promise.all(contenders.map((c) => c.ready));
    // Every contender is now waiting for the database process to exit.
    await new Promise((resolve) => setTimeout(resolve, 300));
    database.kill('SIGKILL');
    const outputs = await Promise.all(contenders.map((c) => c.exited));
    const winners = contenders.filter((_, i) => outputs[i]!.includes('got'));
    expect(winners).toHaveLength(1);
    for (const output of outputs.filter((o) => !o.includes('got'))) {
      expect(output).toContain(
        `DataDirInUseError: the data directory ${dir} is in use by another Orgplane process`,
      );
      expect(output).toContain(`(pid ${winners[0]!.pid})`);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a directory whose owner runs, naming it', async () => {
    const dir = dataDir();
    const owner = liveProcess();
    writeFileSync(lockFile(dir), `${owner.pid}\n`);
    const taking = lockDataDir(dir);
    await expect(taking).rejects.toBeInstanceOf(DataDirInUseError);
    await expect(taking).rejects.toThrow(`(pid ${owner.pid})`);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${owner.pid}\n`);
  });

  it('takes over the lock of an owner that has exited, and writes it whole', async () => {
    const dir = dataDir();
    writeFileSync(lockFile(dir), `${deadPid()}\n`);
    const lock = await lockDataDir(dir);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${process.pid}\n`);
    lock.noteDatabaseProcess(4242);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${process.pid}\n4242\n`);
    // No temporary file or takeover directory is left behind.
    expect(readdirSync(dir)).toEqual(['orgplane.lock']);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is never seen empty', async () => {
    const dir = dataDir();
    const lock = await lockDataDir(dir);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${process.pid}\n`);
    lock.noteDatabaseProcess(4242);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${process.pid}\n4242\n`);
    lock.release();
  });

  it('waits for an empty lock file that is new, and takes over one that is old', async () => {
    const dir = dataDir();
    // Being written (by an older version): not taken over; here its writer turns out to run.
    writeFileSync(lockFile(dir), '');
    const owner = liveProcess();
    const taking = lockDataDir(dir);
    setTimeout(() => writeFileSync(lockFile(dir), `${owner.pid}\n`), 300);
    await expect(taking).rejects.toThrow(`(pid ${owner.pid})`);

    const old = (Date.now() - 20_000) / 1000;
    writeFileSync(lockFile(dir), '');
    utimesSync(lockFile(dir), old, old);
    const lock = await lockDataDir(dir);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  });

  it('removes only its own lock on release', async () => {
    const dir = dataDir();
    const lock = await lockDataDir(dir);
    const other = liveProcess();
    writeFileSync(lockFile(dir), `${other.pid}\n`);
    lock.noteDatabaseProcess(4242);
    lock.release();
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${other.pid}\n`);
  });

  it('is not blocked by the takeover directory of a taker that crashed', async () => {
    const dir = dataDir();
    writeFileSync(lockFile(dir), `${deadPid()}\n`);
    mkdirSync(`${lockFile(dir)}.takeover`);
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(`${lockFile(dir)}.takeover`, old, old);
    const started = Date.now();
    const lock = await lockDataDir(dir);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(readdirSync(dir)).toEqual(['orgplane.lock']);
    lock.release();
  });

  it('knows a directory it holds under another name', async () => {
    const dir = dataDir();
    const link = path.join(dataDir(), 'link');
    symlinkSync(dir, link);
    const lock = await lockDataDir(dir);
    await expect(lockDataDir(link)).rejects.toThrow('is already open');
    lock.release();
    (await lockDataDir(link)).release();
  });
});
