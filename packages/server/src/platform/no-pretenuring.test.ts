// no-pretenuring.ts: with it, V8 makes no pretenuring decision however a literal's objects survive;
// without it, on this Node, the same program has a site pretenured (the decision the module exists
// to prevent). Each case runs in a fresh Node process with V8's own trace of those decisions.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('./no-pretenuring.ts', import.meta.url).href;

/** V8's pretenuring trace of a program whose one object literal's objects all stay alive. */
function pretenuringTrace(withModule: boolean): string {
  const script = `
    ${withModule ? `await import(${JSON.stringify(MODULE)});` : ''}
    const kept = [];
    const make = (i) => ({ i, label: 'kept' });
    for (let i = 0; i < 400000; i++) kept.push(make(i));
    console.log('kept', kept.length);`;
  // V8 prints through C stdio, which loses output on a pipe from Node; a file keeps all of it.
  const dir = mkdtempSync(path.join(tmpdir(), 'orgplane-pretenure-'));
  const file = path.join(dir, 'trace.txt');
  const fd = openSync(file, 'w');
  try {
    // A fixed 1 MB semi-space is "at its maximum" from the start, so V8 decides at once.
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--trace-pretenuring-statistics',
        '--min-semi-space-size=1',
        '--max-semi-space-size=1',
        '--input-type=module',
        '-e',
        script,
      ],
      { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    closeSync(fd);
    const output = readFileSync(file, 'utf8');
    if (run.status !== 0 || !output.includes('kept 400000')) {
      throw new Error(`the probe failed (${run.status}): ${output.slice(0, 2000)}`);
    }
    return output;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('no-pretenuring', () => {
  it('is needed: without it V8 pretenures a site whose objects survive', () => {
    // If this starts failing after a Node upgrade, check that V8 still makes these decisions
    // before removing the module: the trace format may have changed instead.
    expect(pretenuringTrace(false)).toMatch(/=> tenure/);
  });

  it('stops every pretenuring decision', () => {
    const trace = pretenuringTrace(true);
    expect(trace).not.toMatch(/=> tenure/);
    expect(trace).not.toMatch(/pretenuring:/);
  });
});
