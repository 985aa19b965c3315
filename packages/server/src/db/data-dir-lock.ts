// The embedded data directory belongs to one server at a time: two PGlite processes on one
// directory would corrupt it. Held by the server (not its database process) for as long as it
// has the database open, so that the CLI refuses to run beside it and says why.
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class DataDirInUseError extends Error {}

export interface DataDirLock {
  /** Records the database process, so that a successor waits for it if the server dies first. */
  noteDatabaseProcess(pid: number): void;
  release(): void;
}

// A database process outlives a killed server by the moment it takes to close PGlite.
const PREDECESSOR_EXIT_MS = 15_000;
const lockedHere = new Set<string>();

/**
 * The embedded database belongs to one process at a time (two would corrupt it): a lock file with
 * the owner's pid and, once started, its database process's pid. A lock left by a server that no
 * longer runs is taken over, after its database process (which follows it out) has exited.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = path.resolve(dataDir, 'orgplane.lock');
  // The pid in the file cannot tell this process's own open from a dead predecessor's that had the
  // same pid (containers), so this process remembers its own.
  if (lockedHere.has(file)) throw new DataDirInUseError(`the data directory ${dataDir} is already open`);
  lockedHere.add(file);
  try {
    await takeLock(file, dataDir);
  } catch (error) {
    lockedHere.delete(file);
    throw error;
  }
  const mine = () => readFileSync(file, 'utf8').trim().split(/\s+/)[0] === String(process.pid);
  return {
    noteDatabaseProcess: (pid) => writeFileSync(file, `${process.pid}\n${pid}\n`, { mode: 0o600 }),
    release: () => {
      lockedHere.delete(file);
      if (mine()) rmSync(file, { force: true });
    },
  };
}

async function takeLock(file: string, dataDir: string): Promise<void> {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const [owner, database] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (owner && owner !== process.pid && isRunning(owner)) {
      throw new DataDirInUseError(
        `the data directory ${dataDir} is in use by another Orgplane process (pid ${owner}); stop it first — the embedded database serves one process at a time`,
      );
    }
    if (database && !(await exitsWithin(database, PREDECESSOR_EXIT_MS))) {
      throw new DataDirInUseError(
        `the embedded database process (pid ${database}) of a stopped Orgplane process still holds ${dataDir}; stop it first`,
      );
    }
  }
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
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
