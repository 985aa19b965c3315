// Keeps one `process.nextTick` tick object alive for the life of the process. Imported first by
// every server entry point, before the application's modules load.
//
// Why: Node 20 builds each tick object with a computed-key literal (`{[async_id_symbol]: …}`).
// V8 records the hidden classes that literal goes through in its feedback *weakly*. When a full
// garbage collection runs while no tick object is alive (loading a large app does that several
// times), those hidden classes die, the next call finds the recorded class gone and marks the
// site megamorphic — for good. From then on every nextTick (several per HTTP request) builds its
// object in the V8 runtime: measured 2–4 µs more per request, i.e. 15–20 % of a cached-credential
// request, appearing or not depending on when the collector ran (ADR 12).
// Holding one tick object holds its hidden class and all its parents, so the feedback never
// sees a dead class and stays monomorphic. tick-shape.test.ts checks both halves on this Node.
import { executionAsyncResource } from 'node:async_hooks';

let keptTickObject: object | undefined;

process.nextTick(() => {
  // Inside a nextTick callback the current async resource is the tick object itself.
  keptTickObject = executionAsyncResource();
});

/** The tick object held (undefined until the first tick ran); exported for the test. */
export function heldTickObject(): object | undefined {
  return keptTickObject;
}
