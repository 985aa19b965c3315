// Keeps one `process.nextTick` tick object alive for the life of the process, on the Node lines
// that need it. Imported first by every server entry point, before the application's modules load.
//
// Why: Node 20, 22 and 24 build each tick object with a computed-key literal
// (`{[async_id_symbol]: …}`). V8 records the hidden classes that literal goes through in its
// feedback *weakly*. When a full garbage collection runs while no tick object is alive (loading a
// large app does that several times), those hidden classes die, the next call finds the recorded
// class gone and marks the site megamorphic — for good. From then on every nextTick (several per
// HTTP request) builds its object in the V8 runtime: measured 2–4 µs more per request, i.e.
// 15–20 % of a cached-credential request, appearing or not depending on when the collector ran
// (ADR 12). Holding one tick object holds its hidden class and all its parents, so the feedback
// never sees a dead class and stays monomorphic.
// Node 26 builds tick objects with a class (`new TickObject(…)`), whose instances' hidden classes
// hang off the constructor and stay monomorphic (measured): there is nothing to hold, so the module
// does nothing. It looks for the literal in nextTick's own source rather than at the version, so
// a backport either way is followed. tick-shape.test.ts measures, on the running Node, whether the
// fault occurs without the module and asserts the module is installed exactly then.
import { executionAsyncResource } from 'node:async_hooks';

/** Whether this Node's nextTick builds its tick object with the computed-key literal. */
export const tickLiteralInNextTick = /\{\s*\[async_id_symbol\]\s*:/.test(
  Function.prototype.toString.call(process.nextTick),
);

let keptTickObject: object | undefined;

if (tickLiteralInNextTick) {
  process.nextTick(() => {
    // Inside a nextTick callback the current async resource is the tick object itself.
    keptTickObject = executionAsyncResource();
  });
}

/** The tick object held (undefined until the first tick ran, or where none is needed); for the test. */
export function heldTickObject(): object | undefined {
  return keptTickObject;
}
