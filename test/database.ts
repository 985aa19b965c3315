// A fresh database for unit tests that need one without a whole server: in-memory PGlite, or — in
// the `postgres` project — a fresh schema of TEST_DATABASE_URL that drop() removes again.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type OpenDatabase, openDatabase } from '../packages/server/src/db/database.ts';

export const onPostgres = process.env.ORGPLANE_TEST_DB === 'postgres';

export interface TestDatabase {
  /** The PostgreSQL URL, or null on PGlite. */
  url: string | null;
  /** The fresh schema on PostgreSQL, or null on PGlite. */
  schema: string | null;
  /**
   * Opens another handle. On PostgreSQL every handle works in the same schema (like several nodes
   * sharing one database); on PGlite every handle is a separate in-memory database.
   */
  open(options?: { poolSize?: number }): Promise<OpenDatabase>;
  /** A raw client in the schema (PostgreSQL only), e.g. to drive migrate() with a custom list. */
  client(): Promise<pg.Client>;
  /** Closes every handle and client this opened and drops the schema. */
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const url = onPostgres ? (process.env.TEST_DATABASE_URL ?? null) : null;
  if (onPostgres && !url) throw new Error('the postgres test project needs TEST_DATABASE_URL');
  const schema = url ? `unit_${randomBytes(6).toString('hex')}` : null;
  if (url) await adminQuery(url, `CREATE SCHEMA ${schema}`);
  const handles: OpenDatabase[] = [];
  const clients: pg.Client[] = [];
  return {
    url,
    schema,
    async open(options = {}) {
      const handle = await openDatabase({
        url,
        dataDir: null,
        ...(schema ? { schema } : {}),
        poolSize: options.poolSize ?? 10,
      });
      handles.push(handle);
      return handle;
    },
    async client() {
      if (!url || !schema) throw new Error('raw clients exist only on PostgreSQL');
      const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
      await client.connect();
      clients.push(client);
      return client;
    },
    async drop() {
      await Promise.allSettled([...handles.map((h) => h.close()), ...clients.map((c) => c.end())]);
      if (url && schema) await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

/** A fresh database with every migration applied, and its first handle. */
export async function migratedTestDatabase(): Promise<{ test: TestDatabase; database: OpenDatabase }> {
  const test = await createTestDatabase();
  try {
    const database = await test.open();
    await database.migrate();
    return { test, database };
  } catch (error) {
    await test.drop();
    throw error;
  }
}

/** Runs one statement on its own connection (creating and dropping test schemas). */
export async function adminQuery(url: string, query: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}
