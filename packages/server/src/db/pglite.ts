// Embedded PGlite, kept small in memory. Two measured levers (docs/adr/0012):
//  - A new data directory runs initdb, whose WebAssembly instance stays resident in the process
//    that ran it (an embedded server peaked near 900 MB after its first start, ~340 MB after a
//    restart). So a short-lived child process creates the directory and the server then opens it
//    like an existing one.
//  - shared_buffers is lowered from PostgreSQL's 128 MB: inside WebAssembly it is process memory,
//    while pages outside it are still cached by the operating system (PGlite reads through the
//    file system), so a small pool costs little.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';

const SHARED_BUFFERS = '16MB';

/** Opens (creating if needed) the PGlite database in `dir`, or one in memory when `dir` is null. */
export async function openPgliteClient(dir: string | null): Promise<PGlite> {
  // Loaded only when used: importing PGlite costs ~55 MB of memory a PostgreSQL node does not need.
  const { PGlite } = await import('@electric-sql/pglite');
  const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`];
  if (!dir) return PGlite.create({ startParams });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await initdbInChildProcess(dir);
  return PGlite.create(dir, { startParams });
}

function initdbInChildProcess(dir: string): Promise<void> {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `require(process.argv[1]).PGlite.create(process.argv[2])
    .then((db) => db.close())
    .catch((error) => { console.error(error); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, entry, dir], { timeout: 120_000 }, (error, _stdout, stderr) => {
      if (error)
        reject(
          new Error(`creating the embedded database in ${dir} failed: ${stderr.trim() || error.message}`),
        );
      else resolve();
    });
  });
}
