// The embedded database template (ADR 17): when a copy may stand in for initdb, and that the copy
// is the same database initdb and the migrations make.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../../../../test/harness.ts';
import { openDatabase } from './database.ts';
import { listMigrations } from './migrate.ts';
import {
  currentManifest,
  readManifest,
  type TemplateManifest,
  templateIsCurrent,
  usableTemplate,
  writeManifest,
} from './pgdata-template.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** A template directory with this manifest and a cluster marker (PG_VERSION). */
async function fakeTemplate(manifest: TemplateManifest): Promise<string> {
  const dir = tempDir('orgplane-template-');
  mkdirSync(path.join(dir, 'pgdata'));
  writeFileSync(path.join(dir, 'pgdata', 'PG_VERSION'), '17\n');
  await writeManifest(dir, manifest);
  return dir;
}

describe('which template may seed a new embedded database', () => {
  it('one made by this PGlite whose migrations are the first of the current ones, unchanged', async () => {
    const now = currentManifest();
    expect(now.migrations.map((m) => m.name)).toEqual(listMigrations().map((m) => m.name));
    const current = await fakeTemplate(now);
    expect(usableTemplate(current)).toBe(path.join(current, 'pgdata'));
    expect(templateIsCurrent(current)).toBe(true);
    // Older than the sources: still a valid start, the server applies the rest; a build replaces it.
    const older = await fakeTemplate({ ...now, migrations: now.migrations.slice(0, -1) });
    expect(usableTemplate(older)).toBe(path.join(older, 'pgdata'));
    expect(templateIsCurrent(older)).toBe(false);
  });

  it('never one from another PGlite, with an edited or unknown migration, or half made', async () => {
    const now = currentManifest();
    const otherPglite = await fakeTemplate({ ...now, pglite: '0.0.1' });
    const edited = await fakeTemplate({
      ...now,
      migrations: now.migrations.map((m, i) => (i === 0 ? { ...m, sha256: '0'.repeat(64) } : m)),
    });
    const unknown = await fakeTemplate({
      ...now,
      migrations: [...now.migrations, { name: '9999_from_another_branch', sha256: '0'.repeat(64) }],
    });
    const noCluster = await fakeTemplate(now);
    rmSync(path.join(noCluster, 'pgdata', 'PG_VERSION'));
    for (const dir of [otherPglite, edited, unknown, noCluster, tempDir('orgplane-empty-')]) {
      expect(usableTemplate(dir), dir).toBeNull();
    }
  });
});

/** Everything the migrations define, as text: tables, columns, indexes, constraints, triggers, functions. */
async function schemaOf(db: Awaited<ReturnType<typeof openDatabase>>['db']): Promise<string[]> {
  const queries = [
    sql<{
      row: string;
    }>`SELECT concat_ws(' ', table_name, column_name, data_type, is_nullable, column_default) AS row
      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name`,
    sql<{
      row: string;
    }>`SELECT indexdef AS row FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`,
    sql<{ row: string }>`SELECT conname || ' ' || pg_get_constraintdef(oid) AS row FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace ORDER BY conname`,
    sql<{ row: string }>`SELECT tgname || ' ' || pg_get_triggerdef(oid) AS row FROM pg_trigger
      WHERE NOT tgisinternal ORDER BY tgname`,
    sql<{ row: string }>`SELECT proname || ' ' || md5(prosrc) AS row FROM pg_proc
      WHERE pronamespace = 'public'::regnamespace ORDER BY proname`,
    sql<{ row: string }>`SELECT name AS row FROM schema_migrations ORDER BY name`,
  ];
  const rows: string[] = [];
  for (const query of queries) rows.push(...(await query.execute(db)).rows.map((r) => r.row), '--');
  return rows;
}

// Embedded only: PostgreSQL has no data directory.
describe.runIf(!onPostgres)('a new embedded database from the template', () => {
  it('is the database initdb and the migrations make, with nothing left to migrate', async () => {
    // `npm ci` (prepare) and `npm run build` make it; without one, this path is not what users get.
    expect(readManifest(), 'no embedded database template: run `npm run build`').not.toBeNull();
    const built = readManifest()!;
    const copied = await openDatabase({ url: null, dataDir: tempDir('orgplane-copied-') });
    let fromTemplate: string[];
    try {
      // Only the migrations newer than the template are pending (none after a build).
      const names = listMigrations().map((m) => m.name);
      expect(await copied.pending()).toEqual(names.slice(built.migrations.length));
      await copied.migrate();
      fromTemplate = await schemaOf(copied.db);
    } finally {
      await copied.close();
    }
    const initdb = await openDatabase({
      url: null,
      dataDir: tempDir('orgplane-initdb-'),
      embeddedTemplate: false,
    });
    try {
      await initdb.migrate();
      expect(fromTemplate).toEqual(await schemaOf(initdb.db));
      expect(fromTemplate.length).toBeGreaterThan(100);
    } finally {
      await initdb.close();
    }
  }, 120_000);
});
