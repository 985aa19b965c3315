// Applies migrations/NNNN_name.sql in order, each in its own transaction, under a session
// advisory lock: when several nodes start at once, one migrates and the others wait, then find
// nothing left to do.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_DIR } from '../package-paths.ts';

/** The smallest surface both drivers offer: run a script (may hold many statements), read rows. */
export interface ScriptRunner {
  exec(script: string): Promise<void>;
  rows<T>(query: string): Promise<T[]>;
}

const LOCK_KEY = 7_240_313_001; // arbitrary, fixed: "orgplane migrations"

export interface Migration {
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({ name: file.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, file), 'utf8') }));
}

// The files ship with the code and do not change while it runs: read them once (readyz polls).
let shipped: Migration[] | undefined;
const shippedMigrations = () => (shipped ??= listMigrations());

export async function migrate(runner: ScriptRunner, migrations = shippedMigrations()): Promise<string[]> {
  await runner.exec(`SELECT pg_advisory_lock(${LOCK_KEY})`);
  try {
    await runner.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await runner.rows<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name),
    );
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.name)) continue;
      await runner.exec(
        `BEGIN;\n${migration.sql}\n;INSERT INTO schema_migrations (name) VALUES ('${migration.name}');\nCOMMIT;`,
      );
      applied.push(migration.name);
    }
    await runner.exec(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
    return applied;
  } catch (error) {
    await runner.exec('ROLLBACK').catch(() => undefined);
    // Unlock here too, but never let an unlock failure hide the migration's own error.
    await runner.exec(`SELECT pg_advisory_unlock(${LOCK_KEY})`).catch(() => undefined);
    throw error;
  }
}

export async function pendingMigrations(
  runner: ScriptRunner,
  migrations = shippedMigrations(),
): Promise<string[]> {
  const exists = await runner.rows<{ ok: boolean }>(
    `SELECT to_regclass('schema_migrations') IS NOT NULL AS ok`,
  );
  if (!exists[0]?.ok) return migrations.map((m) => m.name);
  const done = new Set(
    (await runner.rows<{ name: string }>('SELECT name FROM schema_migrations')).map((r) => r.name),
  );
  return migrations.filter((m) => !done.has(m.name)).map((m) => m.name);
}
