// tick-shape.ts: with it, process.nextTick's object literal keeps monomorphic feedback through
// full garbage collections; without it, on this Node, the same sequence leaves it megamorphic
// (the slow path the module exists to avoid). Each case runs in a fresh Node process, because the
// state under test is V8 feedback of the process, read with V8's own %DebugPrint.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('./tick-shape.ts', import.meta.url).href;

/** The DefineKeyedOwnPropertyInLiteral feedback states of process.nextTick after ticks and GCs. */
function nextTickFeedback(withModule: boolean): string[] {
  const script = `
    ${withModule ? `await import(${JSON.stringify(MODULE)});` : ''}
    const tick = () => new Promise((resolve) => process.nextTick(resolve));
    for (let i = 0; i < 20; i++) await tick();
    globalThis.gc(); globalThis.gc();
    for (let i = 0; i < 20; i++) await tick();
    new Function('f', 'return %DebugPrint(f)')(process.nextTick);`;
  // V8 prints through C stdio, which loses output on a pipe from Node; a file keeps all of it.
  const dir = mkdtempSync(path.join(tmpdir(), 'orgplane-tick-'));
  const file = path.join(dir, 'debug-print.txt');
  const fd = openSync(file, 'w');
  let output: string;
  try {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', script],
      { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    closeSync(fd);
    output = readFileSync(file, 'utf8');
    if (run.status !== 0) throw new Error(`the probe failed (${run.status}): ${output.slice(0, 2000)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [...output.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((match) => match[1] as string);
}

describe('tick-shape', () => {
  it('keeps the tick object literal monomorphic across full garbage collections', () => {
    const states = nextTickFeedback(true);
    expect(states.length).toBeGreaterThanOrEqual(2);
    expect(states.every((state) => state === 'MONOMORPHIC')).toBe(true);
  });

  it('is needed: without it the same sequence leaves the literal megamorphic', () => {
    // If this starts failing after a Node upgrade, V8 no longer loses this feedback and
    // tick-shape.ts (and its imports in the entry points) can go.
    expect(nextTickFeedback(false)).toContain('MEGAMORPHIC');
  });

  it('holds a tick object', async () => {
    const { heldTickObject } = await import('./tick-shape.ts');
    await new Promise((resolve) => process.nextTick(resolve));
    expect(Object.getOwnPropertySymbols(heldTickObject()).map(String)).toContain('Symbol(async_id_symbol)');
  });
});
