// Everything the run must undo however it ends (server children killed, temporary directories and
// PostgreSQL schemas removed): registered as they are made, run last-first on exit, on Ctrl-C and
// when the watchdog fires, so an interrupted bench leaves nothing behind.

export const cleanups: Array<() => Promise<void>> = [];

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0)
    await cleanups
      .pop()?.()
      .catch(() => undefined);
}
