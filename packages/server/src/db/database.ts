// Opens the database: real PostgreSQL via `pg` when a URL is given, otherwise embedded PGlite in
// the data directory (in its own process, reached through `pg` as well) or in memory for tests.
// All speak the same SQL, so migrations, repos and tests are shared.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import {
  type ChangeFeed,
  InProcessChangeFeed,
  PostgresChangeFeed,
  SessionChangeFeed,
} from '../platform/change-feed.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { type EmbeddedServer, startEmbeddedServer } from './embedded-process.ts';
import { migrate, pendingMigrations, type ScriptRunner } from './migrate.ts';
import { createPglite, pgliteRunner } from './pglite.ts';
import type { Database, Db } from './schema.ts';

export { DataDirInUseError } from './data-dir-lock.ts';

export interface DatabaseOptions {
  /** postgres://… ; null → embedded PGlite. */
  url: string | null;
  /** Embedded data directory; null → in memory (tests). */
  dataDir: string | null;
  /** Schema to work in on PostgreSQL (tests isolate themselves this way). */
  schema?: string;
  poolSize?: number;
  /** Steps of a slow start (creating the embedded database, applying migrations), for the log. */
  onProgress?: (step: string, elapsedMs: number) => void;
  /** false: a new embedded database is made by initdb, not copied from the build's template. */
  embeddedTemplate?: boolean;
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
  if (options.url) return openPostgres(options.url, options);
  return options.dataDir ? openEmbedded(options.dataDir, options) : openInMemory();
}

/** Kysely and the migration runner over a `pg` pool: PostgreSQL's, and the embedded database's. */
function overPool(
  pool: pg.Pool,
  onProgress: DatabaseOptions['onProgress'],
): Pick<OpenDatabase, 'db' | 'migrate' | 'pending'> {
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
    migrate: async () => {
      const started = Date.now();
      const applied = await withClient((runner) => migrate(runner));
      if (applied.length > 0) onProgress?.(`applied ${applied.length} migration(s)`, Date.now() - started);
      return applied;
    },
    pending: () => withClient((runner) => pendingMigrations(runner)),
  };
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<OpenDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  const opened = overPool(pool, options.onProgress);
  return {
    ...opened,
    kind: 'postgres',
    changeFeed: (onError) =>
      PostgresChangeFeed.start({
        connectionString: url,
        ...(options.schema ? { schema: options.schema } : {}),
        onError,
      }),
    close: () => opened.db.destroy(),
  };
}

const pgdataOf = (dataDir: string) => path.join(dataDir, 'pgdata');

/** Whether opening this data directory will first create its database (initdb: a few seconds). */
export function embeddedDatabaseIsNew(dataDir: string): boolean {
  return !existsSync(path.join(pgdataOf(dataDir), 'PG_VERSION'));
}

/**
 * A data directory: PGlite runs in its own process (embedded-server.ts) and the server talks to it
 * through `pg` over a unix socket, like to PostgreSQL, so the server never loads PGlite (ADR 14).
 */
async function openEmbedded(dataDir: string, options: DatabaseOptions): Promise<OpenDatabase> {
  const pgdata = pgdataOf(dataDir);
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  const lock = await lockDataDir(dataDir);
  let child: EmbeddedServer;
  try {
    child = await startEmbeddedServer(pgdata, {
      // Noted at once: if this server dies while its database process starts, a successor waits.
      onSpawn: (pid) => lock.noteDatabaseProcess(pid),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      template: options.embeddedTemplate !== false,
      onLost: (error) => {
        // The server cannot work without its database: fail loudly (main.ts shuts down, exit 1) so
        // a supervisor restarts both, rather than answer 500 and 503 for ever.
        process.nextTick(() => {
          throw error;
        });
      },
    });
  } catch (error) {
    lock.release();
    throw error;
  }
  const feed = new SessionChangeFeed();
  const pool = new pg.Pool({
    host: child.socketDir,
    port: 5432,
    user: 'postgres',
    database: 'postgres',
    // PGlite is one session: a second connection would interleave its transactions and unnamed
    // prepared statements with the first one's. Queries queue for the one connection instead.
    max: 1,
    idleTimeoutMillis: 0,
    // Never TLS on a local socket (PGSSLMODE in the environment would otherwise make pg ask for it,
    // which the embedded wire server does not offer), and never wait for ever for the one connection.
    ssl: false,
    connectionTimeoutMillis: 10_000,
    onConnect: feed.listenOn,
  });
  // A connection lost while idle is reported by the feed; the pool opens a new one when needed.
  pool.on('error', () => undefined);
  const opened = overPool(pool, options.onProgress);
  return {
    ...opened,
    kind: 'pglite',
    changeFeed: (onError) => feed.start(onError, () => roundTrip(pool)),
    close: async () => {
      feed.stopHeartbeat();
      try {
        await opened.db.destroy();
      } finally {
        // Stopped (and waited for) whatever happened above: the lock outlives its database process.
        try {
          await child.stop();
        } finally {
          lock.release();
        }
      }
    },
  };
}

/**
 * `SELECT 1` on the pool's connection. Not `pool.query`: that discards the connection on any error,
 * and with it this session's place in the one-connection pool.
 */
async function roundTrip(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT 1');
    client.release();
  } catch (error) {
    client.release(error as Error); // a connection that failed a trivial query is broken: drop it
    throw error;
  }
}

/** In memory (the tests): PGlite in this process, one session behind Kysely's single connection. */
async function openInMemory(): Promise<OpenDatabase> {
  const { PGliteDialect } = await import('kysely-pglite-dialect');
  const client = await createPglite(null);
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
    close: () => db.destroy(),
  };
}
