// The server's half of embedded-server.ts: forks the process that owns the embedded database,
// waits until it serves on its unix socket, and stops it again (ADR 14). The server reaches it
// through `pg` like any PostgreSQL, so PGlite's WebAssembly never lives in the server process.
import { type ChildProcess, fork } from 'node:child_process';
import { lstatSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COMPILED } from '../package-paths.ts';

/** What the database process tells the server (IPC): a step of a slow start, or that it serves. */
export type EmbeddedServerMessage = { type: 'progress'; step: string } | { type: 'ready'; socketDir: string };
/** What the server tells the database process (IPC). */
export type EmbeddedParentMessage = { type: 'close' };

// A first start runs initdb, which takes seconds on a slow disk; a minute is not unusual under load.
const START_TIMEOUT_MS = 120_000;
// While a start takes longer than this, the server hears how long so far, again and again.
const PROGRESS_EVERY_MS = 5_000;
// Closing flushes PGlite to disk; past this the process is killed rather than block shutdown.
const STOP_TIMEOUT_MS = 10_000;

export interface EmbeddedServer {
  /** The private directory (mode 0700) holding the socket `.s.PGSQL.5432`: pg's `host`. */
  socketDir: string;
  pid: number;
  /** Asks the process to close the database (flushed to disk) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface EmbeddedServerEvents {
  /** The process exists (its pid), before it is ready: it may touch the directory from now on. */
  onSpawn(pid: number): void;
  /** It exited later without being asked to (the server cannot work without it). */
  onLost(error: Error): void;
  /** A step of its start (copying the template, initdb), and every few seconds while it lasts. */
  onProgress?(step: string, elapsedMs: number): void;
  /** false: a new directory is made by initdb even where a template exists. Default true. */
  template?: boolean;
}

/** Forks the database process on `pgdata` and resolves once it accepts connections. */
export function startEmbeddedServer(
  pgdata: string,
  { onSpawn, onLost, onProgress, template = true }: EmbeddedServerEvents,
): Promise<EmbeddedServer> {
  // The compiled server forks the compiled entry beside it (dist/<hash>/, ADR 17); run from the
  // TypeScript sources (tests), the child needs tsx like its parent.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = path.join(here, COMPILED ? 'embedded-server.js' : 'embedded-server.ts');
  const loader = COMPILED
    ? []
    : ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
  const child = fork(script, template ? [pgdata] : [pgdata, '--no-template'], {
    execArgv: loader,
    env: { ...process.env, NODE_OPTIONS: '' },
    // stdout ignored (it prints nothing); stderr read so a failed start can say why.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  if (child.pid) onSpawn(child.pid);
  let ready = false;
  let stopping = false;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (ready) process.stderr.write(chunk);
    else stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (ready && !stopping) {
      onLost(new Error(`the embedded database process exited unexpectedly (${signal ?? `code ${code}`})`));
    }
  });

  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new Error(`the embedded database in ${pgdata} did not start within ${START_TIMEOUT_MS / 1000} s`),
        ),
      START_TIMEOUT_MS,
    );
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      if (ready) return;
      fail(
        new Error(
          `the embedded database in ${pgdata} failed to start: ${stderr.trim() || (signal ?? `exit code ${code}`)}`,
        ),
      );
    });
    // A slow start (initdb) is never silent for long: its last step is repeated with the time.
    const started = Date.now();
    let step = 'starting the embedded database';
    const heartbeat = setInterval(
      () => onProgress?.(`still ${step}`, Date.now() - started),
      PROGRESS_EVERY_MS,
    );
    heartbeat.unref();
    child.once('exit', () => clearInterval(heartbeat));
    child.on('message', (message: EmbeddedServerMessage) => {
      if (!ready && message?.type === 'progress') {
        step = message.step;
        onProgress?.(step, Date.now() - started);
      }
      if (ready || message?.type !== 'ready') return;
      clearInterval(heartbeat);
      const unsafe = unsafeSocketDir(message.socketDir);
      if (unsafe) return fail(new Error(`the embedded database's socket directory ${unsafe}`));
      ready = true;
      clearTimeout(timer);
      // Anything it said while starting (warnings) is not lost.
      if (stderr) process.stderr.write(stderr);
      resolve({
        socketDir: message.socketDir,
        pid: child.pid as number,
        stop: async () => {
          stopping = true;
          try {
            await stopChild(child, exited);
          } finally {
            // Its own to remove, unless it was killed before it could.
            if (path.basename(message.socketDir).startsWith('orgplane-db-')) {
              rmSync(message.socketDir, { recursive: true, force: true });
            }
          }
        },
      });
    });
  });
}

/**
 * Why the socket directory cannot be trusted, or null: PGlite has no authentication, so only a
 * directory of this user's, mode 0700, and not a symlink keeps other local users out.
 */
function unsafeSocketDir(dir: string): string | null {
  const stat = lstatSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) return `${dir} is not a directory`;
  if (process.getuid && stat.uid !== process.getuid()) return `${dir} belongs to another user`;
  if ((stat.mode & 0o777) !== 0o700) return `${dir} has mode ${(stat.mode & 0o777).toString(8)}, not 700`;
  return null;
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.connected) child.send({ type: 'close' } satisfies EmbeddedParentMessage);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  if (child.exitCode !== 0) {
    throw new Error(
      `the embedded database process did not close cleanly (${child.signalCode ?? `exit code ${child.exitCode}`})`,
    );
  }
}
