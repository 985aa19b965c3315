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
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { EmbeddedParentMessage, EmbeddedServerMessage } from './embedded-process.ts';
import { createPglite } from './pglite.ts';

// A signal reaches this process too when it was meant for the server: Ctrl-C signals the terminal's
// whole process group, systemd signals the whole service. The server then still finishes its
// requests in flight (up to 10 s) and needs its database for that, so a signal only closes the
// database once the server has let go of it, or after this long at the latest.
const SIGNAL_GRACE_MS = 15_000;

if (process.argv[2] === '--initdb' && process.argv[3]) {
  // Never interrupted halfway (Ctrl-C reaches it too): a half-created directory would not open again.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => undefined);
  await (await createPglite(process.argv[3])).close();
  process.exit(0);
}
const pgdata = process.argv[2] ?? '';
const send = process.send?.bind(process);
if (!pgdata || !send) {
  console.error('usage: forked with an IPC channel: embedded-server.ts <pgdata dir>');
  process.exit(64);
}

function initdbInChildProcess(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--initdb', dir],
      (error, _stdout, stderr) => {
        if (error) reject(new Error(`initdb in ${dir} failed: ${stderr.trim() || error.message}`));
        else resolve();
      },
    );
  });
}

let db: PGlite | undefined;
let server: PGLiteSocketServer | undefined;
let socketDir: string | undefined;

async function start(): Promise<void> {
  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) await initdbInChildProcess(pgdata);
  db = await createPglite(pgdata);
  // mkdtemp creates the directory with mode 0700.
  socketDir = mkdtempSync(path.join(os.tmpdir(), 'orgplane-db-'));
  // One connection: PGlite is a single session, a second client would share its transactions.
  server = new PGLiteSocketServer({ db, path: path.join(socketDir, '.s.PGSQL.5432'), maxConnections: 1 });
  await server.start();
}

let stopping = false;
/** Waits for the start to settle (never leaves a half-created directory), closes, exits. */
async function stop(starting: Promise<void>): Promise<void> {
  if (stopping) return;
  stopping = true;
  let code = 0;
  await starting.catch(() => undefined);
  try {
    await server?.stop();
    await db?.close();
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
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
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
