// Embedded PGlite, kept small (ADR 12, ADR 14):
//  - With a data directory it runs in its own process (embedded-server.ts) behind the PostgreSQL
//    wire protocol, never in the server: the WebAssembly PostgreSQL costs the process that runs it
//    100–150 MB and slows every request it serves. In memory (the tests) it runs in process.
//  - shared_buffers is lowered from PostgreSQL's 128 MB: inside WebAssembly it is process memory,
//    while pages outside it are still cached by the operating system (PGlite reads through the
//    file system), so a small pool costs little.
import type { PGlite } from '@electric-sql/pglite';
import type { ScriptRunner } from './migrate.ts';

const SHARED_BUFFERS = '16MB';

/** PGlite with our start parameters, in `dir` (created by initdb if new) or in memory. */
export async function createPglite(dir: string | null): Promise<PGlite> {
  // Loaded only when used: importing PGlite costs ~55 MB of memory a server does not need.
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
