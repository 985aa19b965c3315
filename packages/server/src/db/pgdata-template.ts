// A new embedded database is a copy of a prepared cluster, not a fresh initdb (ADR 17). initdb in
// PGlite costs 2.3–3.6 s of CPU alone on the 2-core machine and 15–18 s beside other work, so the
// build (`npm ci`'s prepare step) runs it once, applies the migrations, and leaves the result in
// dist/pgdata-template/; a new data directory copies it (0.25–0.35 s for its 38 MB) and the
// server applies whatever migrations came after it.
//
// A template is used only if the installed PGlite made it and its migrations are, by name and
// content, the first of the current ones: then the copy is exactly the database that initdb and
// those migrations would have made. Anything else (no build, another PGlite, an edited migration)
// runs initdb as before.
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DIST_DIR } from '../package-paths.ts';
import { listMigrations } from './migrate.ts';

/** dist/pgdata-template/: `manifest.json` and the cluster in `pgdata/`. */
export const TEMPLATE_DIR = path.join(DIST_DIR, 'pgdata-template');
const MANIFEST = 'manifest.json';

export interface TemplateManifest {
  /** The PGlite version that made the cluster (its on-disk format is that version's). */
  pglite: string;
  /** The migrations applied to it, in order. */
  migrations: { name: string; sha256: string }[];
}

function installedPgliteVersion(): string {
  // Its package.json is not exported; it sits above the module the package resolves to.
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  for (; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@electric-sql/pglite' && pkg.version) return pkg.version;
  }
  throw new Error('cannot find the installed @electric-sql/pglite version');
}

/** What a template made now, from the installed PGlite and the shipped migrations, would record. */
export function currentManifest(): TemplateManifest {
  return {
    pglite: installedPgliteVersion(),
    migrations: listMigrations().map((m) => ({
      name: m.name,
      sha256: createHash('sha256').update(m.sql).digest('hex'),
    })),
  };
}

export function readManifest(dir = TEMPLATE_DIR): TemplateManifest | null {
  try {
    return JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')) as TemplateManifest;
  } catch {
    return null;
  }
}

/** The template's cluster directory if it may seed a new database now, else null. */
export function usableTemplate(dir = TEMPLATE_DIR): string | null {
  const made = readManifest(dir);
  if (!made || !existsSync(path.join(dir, 'pgdata', 'PG_VERSION'))) return null;
  const now = currentManifest();
  if (made.pglite !== now.pglite || made.migrations.length > now.migrations.length) return null;
  const prefix = made.migrations.every(
    (m, i) => m.name === now.migrations[i]?.name && m.sha256 === now.migrations[i]?.sha256,
  );
  return prefix ? path.join(dir, 'pgdata') : null;
}

/** Whether the template is exactly what a build would make now (nothing for the build to do). */
export function templateIsCurrent(dir = TEMPLATE_DIR): boolean {
  return (
    usableTemplate(dir) !== null && JSON.stringify(readManifest(dir)) === JSON.stringify(currentManifest())
  );
}

export async function writeManifest(dir: string, manifest: TemplateManifest): Promise<void> {
  await fsp.writeFile(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Copies a cluster into `target` (which may exist, empty), directories mode 0700 like initdb's.
 * Files are copied concurrently: one at a time costs ~0.5 s for the template's ~1,100 files.
 */
export async function copyCluster(source: string, target: string): Promise<void> {
  await fsp.mkdir(target, { recursive: true, mode: 0o700 });
  const entries = await fsp.readdir(source, { withFileTypes: true });
  await Promise.all(
    entries.map((entry) => {
      const from = path.join(source, entry.name);
      const to = path.join(target, entry.name);
      if (entry.isDirectory()) return copyCluster(from, to);
      if (entry.isFile()) return fsp.copyFile(from, to);
      throw new Error(`unexpected entry in the database template: ${from}`);
    }),
  );
}
