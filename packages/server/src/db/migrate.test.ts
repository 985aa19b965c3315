// Migrations (migrate.ts) as openDatabase (database.ts) runs them, on PGlite and PostgreSQL.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, onPostgres, type TestDatabase } from '../../../../test/database.ts';
import { newId } from '../platform/ids.ts';
import { DataDirInUseError, type OpenDatabase, openDatabase } from './database.ts';
import { listMigrations, type Migration, migrate, pendingMigrations, type ScriptRunner } from './migrate.ts';
import type { Db } from './schema.ts';

const ALL = listMigrations().map((m) => m.name);
const databases: TestDatabase[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const test = await createTestDatabase();
  databases.push(test);
  return test;
}

afterAll(async () => {
  await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
  await Promise.allSettled(databases.map((test) => test.drop()));
});

/** A bare ScriptRunner on one session of `test` (PostgreSQL) or of a new in-memory PGlite. */
async function sessionRunner(test: TestDatabase): Promise<ScriptRunner> {
  if (test.url) {
    const client = await test.client();
    return {
      exec: async (script) => void (await client.query(script)),
      rows: async <R>(query: string) => (await client.query(query)).rows as R[],
    };
  }
  const lite = await PGlite.create();
  cleanups.push(() => lite.close());
  return {
    exec: async (script) => void (await lite.exec(script)),
    rows: async <R>(query: string) => (await lite.query<R>(query)).rows,
  };
}

const tableExists = async (runner: ScriptRunner, table: string) =>
  (await runner.rows<{ ok: boolean }>(`SELECT to_regclass('${table}') IS NOT NULL AS ok`))[0]!.ok;
const appliedNames = async (runner: ScriptRunner) =>
  (await runner.rows<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).map(
    (r) => r.name,
  );
const advisoryLocksHeld = async (runner: ScriptRunner) =>
  Number(
    (
      await runner.rows<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`,
      )
    )[0]!.n,
  );

// One database for the single-handle tests and the audit_logs tests (PGlite is slow to start).
let shared: OpenDatabase;
beforeAll(async () => {
  shared = await (await freshDatabase()).open();
});

describe('migrate()', () => {
  it('lists the migration files in order', () => {
    expect(ALL.length).toBeGreaterThan(0);
    expect(ALL[0]).toBe('0001_tenancy_core');
    expect([...ALL].sort()).toEqual(ALL);
  });

  it('applies every migration exactly once when four calls on one handle race, then finds nothing pending', async () => {
    expect(await shared.pending()).toEqual(ALL);
    const results = await Promise.all([1, 2, 3, 4].map(() => shared.migrate()));
    expect(results.filter((applied) => applied.length > 0)).toEqual([ALL]);
    expect(results.filter((applied) => applied.length === 0)).toHaveLength(3);
    expect(await shared.pending()).toEqual([]);
    expect(await shared.migrate()).toEqual([]);
    const counts = await sql<{ name: string; n: number }>`
      SELECT name, count(*)::int AS n FROM schema_migrations GROUP BY name ORDER BY name`.execute(shared.db);
    expect(counts.rows).toEqual(ALL.map((name) => ({ name, n: 1 })));
    if (shared.kind === 'pglite') {
      // One session: no advisory lock may be left behind.
      const locks = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`.execute(shared.db);
      expect(locks.rows[0]!.n).toBe(0);
    }
  });
});

describe.runIf(onPostgres)('several nodes migrating one PostgreSQL schema at once', () => {
  it('applies each migration exactly once; every node succeeds', async () => {
    const test = await freshDatabase();
    const nodes = await Promise.all([1, 2, 3, 4].map(() => test.open({ poolSize: 2 })));
    const results = await Promise.all(nodes.map((node) => node.migrate()));
    expect(results.filter((applied) => applied.length > 0)).toEqual([ALL]);
    expect(results.filter((applied) => applied.length === 0)).toHaveLength(3);
    const counts = await sql<{ name: string; n: number }>`
      SELECT name, count(*)::int AS n FROM schema_migrations GROUP BY name ORDER BY name`.execute(
      nodes[0]!.db,
    );
    expect(counts.rows).toEqual(ALL.map((name) => ({ name, n: 1 })));
    for (const node of nodes) expect(await node.pending()).toEqual([]);
    // Nobody still holds the migration lock: a late fifth node gets it at once and finds nothing to do.
    const late = await test.open({ poolSize: 1 });
    const finished = await Promise.race([
      late.migrate(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the migration lock is still held')), 5_000),
      ),
    ]);
    expect(finished).toEqual([]);
  });

  it('lets a node that waited see the winner’s tables', async () => {
    const test = await freshDatabase();
    const [a, b] = await Promise.all([test.open({ poolSize: 2 }), test.open({ poolSize: 2 })]);
    await Promise.all([a!.migrate(), b!.migrate()]);
    const org = { id: newId(), name: 'Acme', slug: `acme-${newId()}` };
    await a!.db.insertInto('organizations').values(org).execute();
    expect(
      await b!.db.selectFrom('organizations').select('slug').where('id', '=', org.id).executeTakeFirst(),
    ).toEqual({
      slug: org.slug,
    });
  });
});

describe('a failing migration', () => {
  const good: Migration = { name: '0001_ok', sql: 'CREATE TABLE ok_table (id int);' };
  const fixed: Migration = { name: '0002_broken', sql: 'CREATE TABLE half_applied (id int);' };
  const after: Migration = { name: '0003_after', sql: 'CREATE TABLE after_table (id int);' };
  let test: TestDatabase;
  let runner: ScriptRunner;
  beforeAll(async () => {
    test = await freshDatabase();
    runner = await sessionRunner(test);
  });

  it('rolls back fully, stops, releases the lock, and a later migrate picks up from there', async () => {
    const broken: Migration = {
      name: '0002_broken',
      sql: `CREATE TABLE half_applied (id int);
            INSERT INTO half_applied VALUES (1);
            ALTER TABLE ok_table ADD COLUMN extra text;
            SELECT * FROM no_such_table;`,
    };
    await expect(migrate(runner, [good, broken, after])).rejects.toThrow(/no_such_table/);
    expect(await tableExists(runner, 'ok_table')).toBe(true);
    expect(await tableExists(runner, 'half_applied')).toBe(false);
    expect(await tableExists(runner, 'after_table')).toBe(false);
    const columns = await runner.rows<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'ok_table' AND table_schema = current_schema()`,
    );
    expect(columns.map((c) => c.column_name)).toEqual(['id']);
    expect(await appliedNames(runner)).toEqual(['0001_ok']);
    expect(await advisoryLocksHeld(runner)).toBe(0);
    expect(await pendingMigrations(runner, [good, broken, after])).toEqual(['0002_broken', '0003_after']);

    expect(await migrate(runner, [good, fixed, after])).toEqual(['0002_broken', '0003_after']);
    expect(await appliedNames(runner)).toEqual(['0001_ok', '0002_broken', '0003_after']);
    expect(await advisoryLocksHeld(runner)).toBe(0);
  });

  it('handles a syntax error the same way', async () => {
    const broken: Migration = {
      name: '0004_syntax',
      sql: 'CREATE TABLE syntax_half (id int); CREAT TABLE oops;',
    };
    await expect(migrate(runner, [good, fixed, after, broken])).rejects.toThrow(/syntax/);
    expect(await tableExists(runner, 'syntax_half')).toBe(false);
    expect(await appliedNames(runner)).toEqual(['0001_ok', '0002_broken', '0003_after']);
    expect(await advisoryLocksHeld(runner)).toBe(0);
    const repaired: Migration = { name: '0004_syntax', sql: 'CREATE TABLE syntax_half (id int);' };
    expect(await migrate(runner, [good, fixed, after, repaired])).toEqual(['0004_syntax']);
  });

  it.runIf(onPostgres)('does not block another session from migrating afterwards', async () => {
    const other = await sessionRunner(test);
    const broken: Migration = { name: '0005_broken', sql: 'SELECT 1/0;' };
    await expect(migrate(runner, [good, broken])).rejects.toThrow(/division by zero/);
    const late: Migration = { name: '0006_late', sql: 'CREATE TABLE late_table (id int);' };
    const finished = await Promise.race([
      migrate(other, [good, late]),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the lock was not released')), 5_000)),
    ]);
    expect(finished).toEqual(['0006_late']);
  });
});

describe('audit_logs is append-only', () => {
  let db: Db;
  beforeAll(async () => {
    await shared.migrate();
    db = shared.db;
  });

  async function orgWithAuditRow() {
    const orgId = newId();
    const id = newId();
    await db
      .insertInto('organizations')
      .values({ id: orgId, name: 'Acme', slug: `acme-${orgId}` })
      .execute();
    await db
      .insertInto('audit_logs')
      .values({ org_id: orgId, id, actor_type: 'user', action: 'org.created', metadata: '{}' })
      .execute();
    return { orgId, id };
  }
  const count = async (orgId: string) =>
    (
      await db
        .selectFrom('audit_logs')
        .select(db.fn.countAll<number>().as('n'))
        .where('org_id', '=', orgId)
        .executeTakeFirstOrThrow()
    ).n;

  it('rejects UPDATE', async () => {
    const { orgId, id } = await orgWithAuditRow();
    await expect(
      db
        .updateTable('audit_logs')
        .set({ action: 'forged' })
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute(),
    ).rejects.toThrow(/append-only/);
    const row = await db
      .selectFrom('audit_logs')
      .select('action')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.action).toBe('org.created');
  });

  it('rejects UPDATE even while the org is being purged', async () => {
    const { orgId, id } = await orgWithAuditRow();
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('orgplane.purging_org', ${orgId}, true)`.execute(trx);
        await trx.updateTable('audit_logs').set({ action: 'forged' }).where('id', '=', id).execute();
      }),
    ).rejects.toThrow(/append-only/);
  });

  it('rejects DELETE, directly or through deleting the org', async () => {
    const { orgId } = await orgWithAuditRow();
    await expect(db.deleteFrom('audit_logs').where('org_id', '=', orgId).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(db.deleteFrom('organizations').where('id', '=', orgId).execute()).rejects.toThrow(
      /append-only/,
    );
    expect(Number(await count(orgId))).toBe(1);
  });

  it('rejects DELETE while a different org is being purged', async () => {
    const { orgId } = await orgWithAuditRow();
    const other = await orgWithAuditRow();
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('orgplane.purging_org', ${other.orgId}, true)`.execute(trx);
        await trx.deleteFrom('audit_logs').execute();
      }),
    ).rejects.toThrow(/append-only/);
    expect(Number(await count(orgId))).toBe(1);
    expect(Number(await count(other.orgId))).toBe(1);
  });

  it('allows DELETE of the purged org’s rows inside the purging transaction only', async () => {
    const { orgId } = await orgWithAuditRow();
    const bystander = await orgWithAuditRow();
    await db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('orgplane.purging_org', ${orgId}, true)`.execute(trx);
      await trx.deleteFrom('audit_logs').where('org_id', '=', orgId).execute();
    });
    expect(Number(await count(orgId))).toBe(0);
    // The setting was local to that transaction.
    await expect(db.deleteFrom('audit_logs').where('org_id', '=', bystander.orgId).execute()).rejects.toThrow(
      /append-only/,
    );
  });

  it('allows purging a whole org (the cascade) with the setting', async () => {
    const { orgId } = await orgWithAuditRow();
    await db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('orgplane.purging_org', ${orgId}, true)`.execute(trx);
      await trx.deleteFrom('organizations').where('id', '=', orgId).execute();
    });
    expect(Number(await count(orgId))).toBe(0);
    expect(
      await db.selectFrom('organizations').select('id').where('id', '=', orgId).executeTakeFirst(),
    ).toBeUndefined();
  });
});

// Embedded mode only: PostgreSQL has no data directory.
describe.runIf(!onPostgres)('embedded PGlite in a data directory (its own process)', () => {
  it('migrates over the socket like PostgreSQL, and keeps its data and migrations across restarts', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-migrate-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    // initdb, not the build's template (pgdata-template.test.ts), which holds the migrations.
    const first = await openDatabase({ url: null, dataDir, embeddedTemplate: false });
    expect(first.kind).toBe('pglite');
    // The database process created the directory (initdb) but migrates nothing itself: this
    // process applies every migration over the socket, one session behind a pool of one.
    expect(await first.pending()).toEqual(ALL);
    const raced = await Promise.all([1, 2, 3].map(() => first.migrate()));
    expect(raced.filter((applied) => applied.length > 0)).toEqual([ALL]);
    expect(await first.pending()).toEqual([]);
    const applied = await sql<{ name: string }>`SELECT name FROM schema_migrations ORDER BY name`.execute(
      first.db,
    );
    expect(applied.rows.map((row) => row.name)).toEqual(ALL);
    // It runs with our start parameters (db/pglite.ts).
    const buffers = await sql<{ shared_buffers: string }>`SHOW shared_buffers`.execute(first.db);
    expect(buffers.rows[0]!.shared_buffers).toBe('16MB');
    const orgId = newId();
    await first.db
      .insertInto('organizations')
      .values({ id: orgId, name: 'Kept', slug: `kept-${orgId}` })
      .execute();
    // One process at a time on a data directory, this one included.
    await expect(openDatabase({ url: null, dataDir })).rejects.toBeInstanceOf(DataDirInUseError);
    await first.close();
    expect(existsSync(path.join(dataDir, 'orgplane.lock'))).toBe(false);

    const second = await openDatabase({ url: null, dataDir });
    try {
      expect(await second.pending()).toEqual([]);
      expect(await second.migrate()).toEqual([]);
      const kept = await second.db
        .selectFrom('organizations')
        .select('name')
        .where('id', '=', orgId)
        .executeTakeFirst();
      expect(kept).toEqual({ name: 'Kept' });
    } finally {
      await second.close();
    }
  });
});
