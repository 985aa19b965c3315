// no-pretenuring.ts, on the running Node: does V8 here still pretenure a literal whose objects
// survive (the decision the module exists to prevent), and does the module stop every decision
// from the moment it loads? Each case runs in a fresh Node process with V8's own trace of those
// decisions. Measured: V8 pretenures on Node 20.20, 22.23, 24.22 and 26.12, so the module is
// installed on every line (ADR 15, ADR 16). CI runs this on each supported line.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('./no-pretenuring.ts', import.meta.url).href;
const MARK = 'orgplane-probe-starts';

interface Probe {
  /** V8's trace from the moment the probe's own allocations start (after the module loaded). */
  trace: string;
  /** Whether an object made by the probe's literal after its loop is in the young generation:
   * always, when no site is pretenured. */
  young: boolean;
}

/** A program whose one object literal's objects all stay alive, traced by V8. */
function probe(withModule: boolean): Probe {
  // The mark is printed by V8 through the same C stdio as the trace, so it orders the two: a site
  // of tsx's or Node's loader can be judged while they load, before the module can act (seen on
  // Node 22 and 24 under load), and is not what is tested here.
  const script = `
    ${withModule ? `await import(${JSON.stringify(MODULE)});` : ''}
    new Function('m', 'return %DebugPrint(m)')(${JSON.stringify(MARK)});
    const kept = [];
    const make = (i) => ({ i, label: 'kept' });
    for (let i = 0; i < 400000; i++) kept.push(make(i));
    const young = new Function('o', 'return %InYoungGeneration(o)')(make(-1));
    console.log('kept', kept.length, 'young', young);`;
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
        '--allow-natives-syntax',
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
    const result = /kept 400000 young (true|false)/.exec(output);
    const mark = output.indexOf(MARK);
    if (run.status !== 0 || !result || mark < 0) {
      throw new Error(`the probe failed (${run.status}): ${output.slice(0, 2000)}`);
    }
    return { trace: output.slice(mark), young: result[1] === 'true' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe(`no-pretenuring on Node ${process.versions.node}`, () => {
  it('is needed: without it V8 pretenures a site whose objects survive', () => {
    // If this starts failing after a Node upgrade, check that V8 still makes these decisions
    // before removing the module: the trace format may have changed instead.
    // Only the trace: whether one object made after the loop lands in the old generation depends
    // on when V8 last looked at the site (seen young on Node 24 under load, with tenure traced).
    expect(probe(false).trace).toMatch(/=> tenure/);
  });

  it('stops every pretenuring decision from the moment it loads', () => {
    const { trace, young } = probe(true);
    expect(trace).not.toMatch(/=> tenure/);
    expect(trace).not.toMatch(/pretenuring:/);
    expect(young).toBe(true);
  });
});
