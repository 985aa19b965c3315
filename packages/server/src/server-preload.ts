// The compiled server's first module (launch.mjs imports it before main.js). Bundled, main.js
// would load every package it imports before any code of its own runs, and these two must run
// before the application's modules load (ADR 12, ADR 15); from the sources main.ts imports them
// first itself.
import './platform/tick-shape.ts';
import './platform/no-pretenuring.ts';
