// `npm run build`, and the root's `prepare` script so that `npm ci` runs it (ADR 17):
//
//   node --import tsx packages/server/build/build.ts [--js-only]
//
// 1. Compiles the server to JavaScript in dist/<hash of the sources>/ (esbuild: one bundle per
//    entry point plus shared chunks; packages stay in node_modules). launch.mjs runs that build,
//    and builds it itself (--js-only) when the sources changed since.
// 2. Prepares the embedded database template, dist/pgdata-template/ (db/pgdata-template.ts),
//    unless it is current already. A template that cannot be made is reported, not fatal: the
//    first start then runs initdb, as it did before templates.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { migrate } from '../src/db/migrate.ts';
import {
  currentManifest,
  TEMPLATE_DIR,
  templateIsCurrent,
  writeManifest,
} from '../src/db/pgdata-template.ts';
import { createPglite, pgliteRunner } from '../src/db/pglite.ts';
import { buildDir, DIST, PACKAGE_ROOT, sourceHash } from './source-hash.mjs';

/** Builds kept besides the current one: a server still running from one may fork its database process later. */
const KEEP_OLD_BUILDS = 3;
const BUILD_NAME = /^[0-9a-f]{16}$/;

async function buildJs(): Promise<string> {
  const hash = sourceHash();
  const target = buildDir(hash);
  if (existsSync(target)) return `JavaScript build ${hash} is up to date`;
  mkdirSync(DIST, { recursive: true });
  // Built aside and renamed into place: a directory named after the hash is always complete, and
  // two builds racing (two servers started at once after an edit) both end with a whole one.
  const staging = mkdtempSync(path.join(DIST, '.build-'));
  try {
    const src = (file: string) => path.join(PACKAGE_ROOT, 'src', file);
    await esbuild.build({
      entryPoints: {
        preload: src('server-preload.ts'),
        main: src('main.ts'),
        cli: src('cli.ts'),
        'embedded-server': src('db/embedded-server.ts'),
      },
      outdir: staging,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20.11',
      packages: 'external',
      // Class and function names survive bundling (logs and errors name them).
      keepNames: true,
      sourcemap: 'linked',
      logLevel: 'warning',
    });
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(target)) throw error; // else another build finished first: use that one
  }
  pruneOldBuilds(target);
  return `JavaScript build ${hash} written to ${path.relative(process.cwd(), target)}`;
}

function pruneOldBuilds(current: string): void {
  const builds = readdirSync(DIST)
    .filter((name) => BUILD_NAME.test(name) && path.join(DIST, name) !== current)
    .map((name) => ({ dir: path.join(DIST, name), mtime: statSync(path.join(DIST, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of builds.slice(KEEP_OLD_BUILDS)) rmSync(old.dir, { recursive: true, force: true });
}

async function buildTemplate(): Promise<string> {
  if (templateIsCurrent()) return 'embedded database template is up to date';
  const started = performance.now();
  mkdirSync(DIST, { recursive: true });
  const staging = mkdtempSync(path.join(DIST, '.pgdata-template-'));
  try {
    const manifest = currentManifest();
    const db = await createPglite(path.join(staging, 'pgdata'));
    try {
      await migrate(pgliteRunner(db));
    } finally {
      await db.close();
    }
    await writeManifest(staging, manifest);
    // Replaced by renames: a start copying the old one meanwhile fails its copy and runs initdb.
    const old = `${TEMPLATE_DIR}.old-${process.pid}`;
    if (existsSync(TEMPLATE_DIR)) renameSync(TEMPLATE_DIR, old);
    renameSync(staging, TEMPLATE_DIR);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  return `embedded database template written to ${path.relative(process.cwd(), TEMPLATE_DIR)} (${seconds} s)`;
}

const jsOnly = process.argv.includes('--js-only');
try {
  console.error(`orgplane build: ${await buildJs()}`);
} catch (error) {
  console.error(
    'orgplane build: compiling the server failed:',
    error instanceof Error ? error.message : error,
  );
  process.exit(1);
}
if (!jsOnly) {
  try {
    console.error(`orgplane build: ${await buildTemplate()}`);
  } catch (error) {
    console.error(
      'orgplane build: could not prepare the embedded database template (first starts will run initdb):',
      error instanceof Error ? error.message : error,
    );
  }
}
