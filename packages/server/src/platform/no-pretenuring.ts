// Turns off V8's allocation-site pretenuring for this process. Imported first by every server entry
// point, before the application's modules load (ADR 15).
//
// Why: V8 watches each object-literal site and, when at least 85 % of the objects it made since the
// last minor GC are still alive, decides to allocate that site's objects directly in the old
// generation — for good (the decision is never revisited). A site that makes short-lived objects
// per request can be judged at an unlucky moment (at start-up, while most of its objects happen to
// be alive: ours sat at 0.846–0.918 across starts); from then on each request leaves garbage in the old generation that, until the
// next full GC, keeps the young objects it points to alive. Measured: in about one server start in
// four under the bench, every path ran ~2× slower for the process's whole life (~30 µs instead of
// ~14 µs per request, RSS ~270 MB instead of ~180 MB, the profile dominated by the scavenger and
// concurrent marking). Without pretenuring: none in 32 starts, and no slower in the normal case.
import { setFlagsFromString } from 'node:v8';

// Read by V8 at every GC, so setting it before the application's first GC-heavy work suffices.
setFlagsFromString('--no-allocation-site-pretenuring');
