// The embedded data directory belongs to one server at a time: two PGlite processes on one
// directory would corrupt it. Held by the server (not its database process) for as long as it
// has the database open, so that the CLI refuses to run beside it and says why.
//
// The lock names processes by pid, and a pid means something only in its own PID namespace: two
// containers (or hosts) sharing one volume may both be pid 1 and would each take the other's lock
// for a dead predecessor's. An embedded data directory must not be shared between hosts or
// containers; several nodes use PostgreSQL.
import { randomBytes } from 'node:crypto';
import {
  linkSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

export class DataDirInUseError extends Error {}

export interface DataDirLock {
  /** Records the database process, so that a successor waits for it if the server dies first. */
  noteDatabaseProcess(pid: number): void;
  release(): void;
}

// A database process outlives a killed server by the moment it takes to close PGlite.
const PREDECESSOR_EXIT_MS = 15_000;
// A lock file is never seen half-written (it is linked or renamed into place, complete), but one
// left by an older version or a crash may be empty: give its writer this long before calling it stale.
const UNWRITTEN_MS = 10_000;
// A takeover holds its directory for at most PREDECESSOR_EXIT_MS; one older than this is a crashed taker's.
const TAKEOVER_STALE_MS = 60_000;
const TAKE_MS = 30_000;
const RETRY_MS = 50;
const lockedHere = new Set<string>();

type LockState = { owner: number; database?: number } | 'gone' | 'unwritten' | 'stale';

/**
 * The embedded database belongs to one process at a time (two would corrupt it): a lock file with
 * the owner's pid and, once started, its database process's pid. A lock left by a server that no
 * longer runs is taken over, after its database process (which follows it out) has exited.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const dir = realpathSync(dataDir);
  const file = path.join(dir, 'orgplane.lock');
  // The pid in the file cannot tell this process's own open from a dead predecessor's that had the
  // same pid (containers), so this process remembers its own.
  if (lockedHere.has(dir)) throw new DataDirInUseError(`the data directory ${dataDir} is already open`);
  lockedHere.add(dir);
  try {
    await takeLock(file, dataDir);
  } catch (error) {
    lockedHere.delete(dir);
    throw error;
  }
  const mine = () => {
    const state = readLock(file);
    return typeof state === 'object' && state.owner === process.pid;
  };
  return {
    noteDatabaseProcess: (pid) => {
      // Nobody takes the lock of a running owner, so between this check and the rename it stays ours.
      if (mine()) renameSync(writeTemp(file, `${process.pid}\n${pid}\n`), file);
    },
    release: () => {
      lockedHere.delete(dir);
      if (mine()) rmSync(file, { force: true });
    },
  };
}

async function takeLock(file: string, dataDir: string): Promise<void> {
  const takeover = `${file}.takeover`;
  const deadline = Date.now() + TAKE_MS;
  for (;;) {
    if (create(file)) return;
    // A running owner is refused at once, without touching the takeover directory.
    if (refuseLive(readLock(file), dataDir) === 'gone') continue;
    // Taking over is read, judge, remove, create: two processes doing it at once would both win, so
    // it is done only by whoever holds the takeover directory (mkdir is atomic).
    if (enter(takeover)) {
      try {
        // Re-read: another taker may have finished since.
        const state = refuseLive(readLock(file), dataDir);
        if (typeof state === 'object' && state.database) await refuseDatabase(state.database, dataDir);
        if (state !== 'gone' && state !== 'unwritten') rmSync(file, { force: true });
        if (state !== 'unwritten' && create(file)) return;
      } finally {
        rmSync(takeover, { recursive: true, force: true });
      }
    }
    if (Date.now() >= deadline) {
      throw new DataDirInUseError(
        `could not lock the data directory ${dataDir} within ${TAKE_MS / 1000} s: another process is taking over its lock (${takeover}); try again`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/** Creates the lock file complete, or returns false if there is one. */
function create(file: string): boolean {
  const temp = writeTemp(file, `${process.pid}\n`);
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

function writeTemp(file: string, content: string): string {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
  return temp;
}

function enter(takeover: string): boolean {
  try {
    mkdirSync(takeover);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  try {
    if (Date.now() - statSync(takeover).mtimeMs > TAKEOVER_STALE_MS) rmdirSync(takeover);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return false;
}

function readLock(file: string): LockState {
  let content: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
    content = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  const pids = content.trim().split(/\s+/).map(Number);
  if (pids.length <= 2 && pids.every((n) => Number.isSafeInteger(n) && n > 0)) {
    return { owner: pids[0]!, database: pids[1] };
  }
  return Date.now() - mtimeMs < UNWRITTEN_MS ? 'unwritten' : 'stale';
}

function refuseLive(state: LockState, dataDir: string): LockState {
  // Our own pid here (and not in lockedHere) is a dead predecessor's that had the same pid.
  if (typeof state === 'object' && state.owner !== process.pid && isRunning(state.owner)) {
    throw new DataDirInUseError(
      `the data directory ${dataDir} is in use by another Orgplane process (pid ${state.owner}); stop it first — the embedded database serves one process at a time`,
    );
  }
  return state;
}

async function refuseDatabase(database: number, dataDir: string): Promise<void> {
  if (!(await exitsWithin(database, PREDECESSOR_EXIT_MS))) {
    throw new DataDirInUseError(
      `the embedded database process (pid ${database}) of a stopped Orgplane process still holds ${dataDir}; stop it first`,
    );
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exitsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
