// SIGINT and SIGTERM for the server: the first one stops it gracefully, a second one stops it at
// once — except that the same signal arriving again within a moment is one request, not two.
//
// Why: `npm start` runs the server with `exec` (so that a signal sent to npm's process reaches the
// server, ADR 17), and npm forwards SIGINT and SIGTERM to it. A Ctrl-C in a terminal, or a SIGTERM
// to the whole process group (systemd, `kill -- -PGID`), reaches the server directly *and* through
// npm, measured 3–8 ms apart. close-with-grace alone took that echo for a second signal and exited
// at once with code 1, cutting off requests in flight.

/** The same signal again within this long is the echo through npm; a person pressing Ctrl-C twice is slower. */
export const SIGNAL_ECHO_MS = 1_000;

export function onStopSignal(
  stop: (signal: NodeJS.Signals) => void,
  stopNow: (signal: NodeJS.Signals) => void = (signal) => {
    console.error(`second ${signal}, exiting`);
    process.exit(1);
  },
): void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!first) {
        first = { signal, at: Date.now() };
        stop(signal);
      } else if (signal !== first.signal || Date.now() - first.at >= SIGNAL_ECHO_MS) {
        stopNow(signal);
      }
    });
  }
}
