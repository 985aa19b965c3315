// The identity of the server's sources. A build lives in dist/<hash>/, so a build made from other
// sources is never mistaken for this one (ADR 17). Plain JavaScript: launch.mjs reads it before
// anything can compile TypeScript.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/server */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(PACKAGE_ROOT, 'dist');

/** The files a build is made from: the sources without their tests, and the build's own code. */
function buildInputs() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (!entry.name.endsWith('.test.ts')) files.push(full);
    }
  };
  walk(path.join(PACKAGE_ROOT, 'src'));
  walk(path.join(PACKAGE_ROOT, 'build'));
  // Sorted by code unit, not by locale: the same files hash the same on every machine.
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** 16 hex digits of SHA-256 over every input's path and content (~10 ms for ~170 files). */
export function sourceHash() {
  const hash = createHash('sha256');
  for (const file of buildInputs()) {
    hash.update(path.relative(PACKAGE_ROOT, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Where the build of these sources lives (it is complete when the directory exists). */
export const buildDir = (hash) => path.join(DIST, hash);
