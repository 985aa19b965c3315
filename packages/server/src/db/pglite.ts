// Embedded PGlite, kept small and fast (ADR 12):
//  - A data directory is created (initdb) and migrated by a short-lived child process, never by
//    the server: initdb leaves its WebAssembly instance resident in the process that ran it (an
//    embedded server peaked near 900 MB after its first start), and a server that applied the
//    migrations itself answers every request 2–3 µs slower for the rest of its life (measured;
//    the cause is not understood, see the ADR). The child runs when the directory is new or has
//    pending migrations; an up-to-date directory is opened directly.
//  - shared_buffers is lowered from PostgreSQL's 128 MB: inside WebAssembly it is process memory,
//    while pages outside it are still cached by the operating system (PGlite reads through the
//    file system), so a small pool costs little.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { pendingMigrations, type ScriptRunner } from './migrate.ts';

const SHARED_BUFFERS = '16MB';

/** PGlite with our start parameters, in `dir` (created if new) or in memory. */
export async function createPglite(dir: string | null): Promise<PGlite> {
  // Loaded only when used: importing PGlite costs ~55 MB of memory a PostgreSQL node does not need.
  const { PGlite } = await import('@electric-sql/pglite');
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`];
  return dir ? PGlite.create(dir, { startParams }) : PGlite.create({ startParams });
}

export function pgliteRunner(client: PGlite): ScriptRunner {
  return {
    exec: async (script) => void (await client.exec(script)),
    rows: async <R>(query: string) => (await client.query<R>(query)).rows,
  };
}

/** Opens the PGlite database in `dir`, created and migrated first if needed; in memory when null. */
export async function openPgliteClient(dir: string | null): Promise<PGlite> {
  if (!dir) return createPglite(null);
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await prepareInChildProcess(dir);
  const client = await createPglite(dir);
  if ((await pendingMigrations(pgliteRunner(client))).length === 0) return client;
  await client.close();
  await prepareInChildProcess(dir);
  return createPglite(dir);
}

function prepareInChildProcess(dir: string): Promise<void> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'prepare-embedded.ts');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', tsx, script, dir],
      { timeout: 300_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, _stdout, stderr) => {
        if (error) {
          reject(
            new Error(`preparing the embedded database in ${dir} failed: ${stderr.trim() || error.message}`),
          );
        } else resolve();
      },
    );
  });
}
