// Where the server package's files are, seen from any module. The same code runs from src/ (tsx,
// vitest) and bundled into dist/<hash>/*.js (npm start, ADR 17), so a module's own location says
// nothing about where the package's other files are: they are found from the package root.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** packages/server */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
/** Whether this code is the compiled build rather than the TypeScript sources. */
export const COMPILED = import.meta.url.endsWith('.js');
/** The migrations ship as SQL files beside the sources; the build reads them from there too. */
export const MIGRATIONS_DIR = path.join(PACKAGE_ROOT, 'src/db/migrations');
/** Builds (dist/<hash>/) and the embedded database template (dist/pgdata-template/). */
export const DIST_DIR = path.join(PACKAGE_ROOT, 'dist');
