// The embedded database's own process (ADR 14), forked by embedded-process.ts with an IPC channel:
//   node --import tsx packages/server/src/db/embedded-server.ts <pgdata dir>
// PGlite — PostgreSQL compiled to WebAssembly — costs the process that runs it 100–150 MB and slows
// every request that process serves, so it runs here and the server reaches it over the PostgreSQL
// wire protocol, as it reaches a real PostgreSQL. PGlite has no authentication: it listens only on a
// unix socket inside a fresh directory of mode 0700 (never on TCP), so only this user can connect.
//
// It lives as long as the server: it closes the database (flushing it to disk) and exits when the
// server says `close` or goes away (the IPC channel disconnects, also when the server is killed).
// It prints nothing while it runs; if it cannot start it says why on stderr and exits non-zero.
//
// A new directory is created (initdb) by a short-lived process of its own, this file run with
// `--initdb`: initdb leaves its WebAssembly instance resident in the process that ran it (measured:
// this process held ~740 MB for its whole life after an initdb, ~265 MB after a plain open).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import type { EmbeddedParentMessage, EmbeddedServerMessage } from './embedded-process.ts';
import { copyCluster, usableTemplate } from './pgdata-template.ts';
import { createPglite } from './pglite.ts';
import { PgliteWireServer } from './wire-server.ts';

// A signal reaches this process too when it was meant for the server: Ctrl-C signals the terminal's
// whole process group, systemd signals the whole service. The server then still finishes its
// requests in flight (up to 10 s) and needs its database for that, so a signal only closes the
// database once the server has let go of it, or after this long at the latest.
const SIGNAL_GRACE_MS = 15_000;

// A unix socket path longer than this is cut short by Node and by pg without an error — and would
// then name a file outside the private directory (sun_path holds 108 bytes with its terminator).
const MAX_SOCKET_PATH = 103;

if (process.argv[2] === '--initdb' && process.argv[3]) {
  // Ctrl-C and a closed terminal reach it too; it runs to the end rather than stop halfway.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => undefined);
  await (await createPglite(process.argv[3])).close();
  process.exit(0);
}
const pgdata = process.argv[2] ?? '';
// --no-template: a new directory is made by initdb even where a template exists (tests of that path).
const useTemplate = process.argv[3] !== '--no-template';
const send = process.send?.bind(process);
if (!pgdata || !send) {
  console.error('usage: forked with an IPC channel: embedded-server.ts <pgdata dir>');
  process.exit(64);
}

/**
 * Creates the cluster in a sibling directory and renames it into place, so that an initdb that was
 * killed halfway (or orphaned by a start that timed out) never leaves a directory that looks
 * created; leftovers of such runs are removed first.
 */
async function initdbInChildProcess(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.initdb-`;
  for (const entry of readdirSync(parent)) {
    if (entry.startsWith(prefix)) rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
  const staging = mkdtempSync(path.join(parent, prefix));
  // A copy of the template the build prepared takes a fraction of initdb's seconds (ADR 17).
  const template = useTemplate ? usableTemplate() : null;
  let copied = false;
  if (template) {
    progress('copying the prepared database template');
    // A copy that fails (the template replaced by a build meanwhile) gives way to initdb.
    copied = await copyCluster(template, staging).then(
      () => true,
      () => false,
    );
  }
  if (!copied) {
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { mode: 0o700 });
    progress(`running initdb${template ? '' : ' (no prepared template: `npm run build` makes one)'}`);
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), '--initdb', staging],
        (error, _stdout, stderr) => {
          if (error) reject(new Error(`initdb in ${dir} failed: ${stderr.trim() || error.message}`));
          else resolve();
        },
      );
    });
  }
  if (existsSync(dir)) rmdirSync(dir); // the empty directory the server made (fails if not empty)
  renameSync(staging, dir);
}

/** Tells the server what the start is doing (it logs it: a first start can take a while). */
function progress(step: string): void {
  send?.({ type: 'progress', step } satisfies EmbeddedServerMessage);
}

/** A private directory (mode 0700) for the socket, with a path short enough to be kept whole. */
function socketDirectory(): string {
  for (const base of [os.tmpdir(), '/tmp']) {
    const dir = mkdtempSync(path.join(base, 'orgplane-db-'));
    if (Buffer.byteLength(path.join(dir, '.s.PGSQL.5432')) <= MAX_SOCKET_PATH) return dir;
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(
    `no directory with a short enough path for the database socket: TMPDIR (${os.tmpdir()}) is too long and /tmp is not usable`,
  );
}

let db: PGlite | undefined;
let server: PgliteWireServer | undefined;
let socketDir: string | undefined;

async function start(): Promise<void> {
  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) await initdbInChildProcess(pgdata);
  db = await createPglite(pgdata);
  // mkdtemp creates the directory with mode 0700; the socket itself is made owner-only as well.
  socketDir = socketDirectory();
  // One client: PGlite is a single session; the wire server resets it between clients (ADR 19).
  server = new PgliteWireServer({
    db,
    path: path.join(socketDir, '.s.PGSQL.5432'),
    onFatal: (error) => {
      // Not an SQL error: PGlite itself failed, and nothing it answers can be trusted any more.
      // Exiting makes the server fail loudly too, so a supervisor restarts both (embedded-process.ts).
      console.error('orgplane: the embedded database failed:', error);
      exitCode = 1;
      void stop(starting);
    },
  });
  await server.start();
}

let stopping = false;
let exitCode = 0;
/** Waits for the start to settle (never leaves a half-created directory), closes, exits. */
async function stop(starting: Promise<void>): Promise<void> {
  if (stopping) return;
  stopping = true;
  let code = exitCode;
  await starting.catch(() => undefined);
  try {
    await server?.stop();
  } catch (error) {
    console.error('orgplane: stopping the embedded database socket failed:', error);
  }
  try {
    await db?.close(); // flushes: done even when the socket would not stop
  } catch (error) {
    console.error('orgplane: closing the embedded database failed:', error);
    code = 1;
  } finally {
    if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  }
  process.exit(code);
}

const starting = start();
process.on('message', (message: EmbeddedParentMessage) => {
  if (message?.type === 'close') void stop(starting);
});
process.on('disconnect', () => void stop(starting));
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (!process.connected) void stop(starting);
    else setTimeout(() => void stop(starting), SIGNAL_GRACE_MS).unref();
  });
}

try {
  await starting;
} catch (error) {
  // Only the reason: the server puts it in its own message.
  console.error(error instanceof Error ? error.message : error);
  if (socketDir) rmSync(socketDir, { recursive: true, force: true });
  process.exit(1);
}
if (!stopping) send({ type: 'ready', socketDir: socketDir as string } satisfies EmbeddedServerMessage);
