// What `npm start` and `npm run orgplane` run (ADR 17):
//
//   node packages/server/build/launch.mjs main|cli [arguments…]
//
// It runs the server's JavaScript compiled into dist/<hash of the sources>/ by `npm ci` (the root's
// prepare script) or `npm run build`, so no TypeScript is transpiled at start. When the sources
// changed since (an edit, a pull), that directory does not exist: it builds it first (about a
// second, said on stderr), so an out-of-date build never runs. If it cannot build (a read-only
// checkout, say), it runs the TypeScript sources through tsx instead and says so.
//
// It runs in the server's own process (npm's start script `exec`s node on it): signals sent to
// `npm start`'s process reach the server, and no extra process stands between them.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildDir, PACKAGE_ROOT, sourceHash } from './source-hash.mjs';

// `preload` first, on its own: bundling hoists main.js's package imports above its own code, and
// tick-shape.ts and no-pretenuring.ts must run before those load (ADR 12, ADR 15).
const ENTRIES = { main: ['preload', 'main'], cli: ['cli'] };
const [entry = ''] = process.argv.splice(2, 1);
const modules = ENTRIES[entry];
if (!modules) {
  console.error('usage: launch.mjs main|cli [arguments…]');
  process.exit(64);
}

const dir = buildDir(sourceHash());
if (!existsSync(dir)) {
  process.stderr.write('orgplane: the sources changed since the last build; building them first\n');
  try {
    execFileSync(
      process.execPath,
      ['--import', 'tsx', path.join(PACKAGE_ROOT, 'build/build.ts'), '--js-only'],
      {
        cwd: PACKAGE_ROOT,
        stdio: ['ignore', 2, 2],
      },
    );
  } catch {
    // Said below; the build printed its own error.
  }
}
if (existsSync(dir)) {
  for (const name of modules) await import(pathToFileURL(path.join(dir, `${name}.js`)).href);
} else {
  process.stderr.write(
    'orgplane: could not build; running the TypeScript sources through tsx (slower start)\n',
  );
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(PACKAGE_ROOT, 'src', `${entry}.ts`)).href);
}
