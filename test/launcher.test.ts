// The launcher behind `npm start` and `npm run orgplane` (ADR 17) never runs a build of other
// sources: in a copy of the server package, a first run builds, a second reuses the build, and a
// run after an edit builds again and runs the edited code.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { onPostgres } from './harness.ts';
import { REPO_ROOT } from './server-process.ts';

const root = mkdtempSync(path.join(tmpdir(), 'orgplane-launcher-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function runCli(): { stdout: string; stderr: string } {
  const launcher = path.join(root, 'packages/server/build/launch.mjs');
  const run = spawnSync(process.execPath, [launcher, 'cli', '--help'], { encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  return { stdout: run.stdout, stderr: run.stderr };
}

describe.runIf(!onPostgres)('the launcher', () => {
  it('builds when there is no build of these sources, reuses it, and rebuilds after an edit', () => {
    const pkg = path.join(root, 'packages/server');
    mkdirSync(pkg, { recursive: true });
    for (const part of ['src', 'build', 'package.json']) {
      cpSync(path.join(REPO_ROOT, 'packages/server', part), path.join(pkg, part), { recursive: true });
    }
    symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
    const builds = () => readdirSync(path.join(pkg, 'dist')).filter((name) => /^[0-9a-f]{16}$/.test(name));

    const building = 'the sources changed since the last build; building them first';
    const fresh = runCli();
    expect(fresh.stderr).toContain(building);
    expect(fresh.stdout).toContain('usage:');
    expect(builds()).toHaveLength(1);
    const first = builds()[0];
    const again = runCli();
    expect(again.stderr).not.toContain(building); // reused, not rebuilt
    expect(again.stdout).toContain('usage:');
    expect(builds()).toEqual([first]);

    const cli = path.join(pkg, 'src/cli.ts');
    writeFileSync(cli, readFileSync(cli, 'utf8').replace('usage:', 'usage (edited):'));
    const edited = runCli();
    expect(edited.stderr).toContain(building);
    expect(edited.stdout).toContain('usage (edited):');
    expect(edited.stderr).not.toContain('through tsx'); // the build's, not the fallback
    expect(builds()).toHaveLength(2);
    expect(builds()).toContain(first);
  }, 120_000);
});
