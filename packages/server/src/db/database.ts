// Opens the database: real PostgreSQL via `pg` when a URL is given, otherwise embedded PGlite in
// the data directory. Both speak the same SQL, so migrations, repos and tests are shared.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type ChangeFeed, InProcessChangeFeed, PostgresChangeFeed } from '../platform/change-feed.ts';
import { migrate, pendingMigrations, type ScriptRunner } from './migrate.ts';
import { openPgliteClient, pgliteRunner } from './pglite.ts';
import type { Database, Db } from './schema.ts';

export interface DatabaseOptions {
  /** postgres://… ; null → embedded PGlite. */
  url: string | null;
  /** Embedded data directory; null → in memory (tests). */
  dataDir: string | null;
  /** Schema to work in on PostgreSQL (tests isolate themselves this way). */
  schema?: string;
  poolSize?: number;
}

export interface OpenDatabase {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Applies pending migrations (safe when several nodes call it at once). */
  migrate(): Promise<string[]>;
  pending(): Promise<string[]>;
  /** Starts hearing the change triggers' notifications (cache invalidation across nodes). */
  changeFeed(onError: (error: unknown) => void): Promise<ChangeFeed>;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<OpenDatabase> {
  return options.url ? openPostgres(options.url, options) : openPglite(options.dataDir);
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<OpenDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // Migrations hold a session-level advisory lock, so they need one client for their whole run.
  const withClient = async <T>(work: (runner: ScriptRunner) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await work({
        exec: async (script) => void (await client.query(script)),
        rows: async <R>(query: string) => (await client.query(query)).rows as R[],
      });
    } finally {
      client.release();
    }
  };
  return {
    db,
    kind: 'postgres',
    migrate: () => withClient((runner) => migrate(runner)),
    pending: () => withClient((runner) => pendingMigrations(runner)),
    changeFeed: (onError) =>
      PostgresChangeFeed.start({
        connectionString: url,
        ...(options.schema ? { schema: options.schema } : {}),
        onError,
      }),
    close: () => db.destroy(),
  };
}

export class DataDirInUseError extends Error {}

/**
 * The embedded database belongs to one process at a time (two would corrupt it): a lock file with
 * the owner's pid. A lock left by a process that no longer runs is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'orgplane.lock');
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (owner && owner !== process.pid && isRunning(owner)) {
      throw new DataDirInUseError(
        `the data directory ${dataDir} is in use by another Orgplane process (pid ${owner}); stop it first — the embedded database serves one process at a time`,
      );
    }
  }
  writeFileSync(file, `${process.pid}\n`, { mode: 0o600 });
  return () => {
    if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function openPglite(dataDir: string | null): Promise<OpenDatabase> {
  const { PGliteDialect } = await import('kysely-pglite-dialect');
  let client: PGlite;
  let unlock = () => {};
  if (dataDir) {
    const dir = path.join(dataDir, 'pgdata');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    unlock = lockDataDir(dataDir);
    try {
      client = await openPgliteClient(dir);
    } catch (error) {
      unlock();
      throw error;
    }
  } else {
    client = await openPgliteClient(null);
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
  const runner = pgliteRunner(client);
  // PGlite is one session, so its advisory lock cannot keep concurrent callers apart: hold Kysely's
  // single connection while migrating, which also keeps queries out of a migration's transaction.
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => db.connection().execute(work);
  return {
    db,
    kind: 'pglite',
    migrate: () => exclusive(() => migrate(runner)),
    pending: () => exclusive(() => pendingMigrations(runner)),
    changeFeed: () => InProcessChangeFeed.start(client),
    close: async () => {
      await db.destroy();
      unlock();
    },
  };
}
