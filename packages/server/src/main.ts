// Entry point: read config, open and migrate the database, serve, and shut down gracefully
// (stop accepting, finish in-flight requests, close the database) on SIGTERM/SIGINT.
// First: before anything else loads (see the modules).
import './platform/tick-shape.ts';
import './platform/no-pretenuring.ts';
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { ConfigError, loadConfig } from './config.ts';
import { embeddedDatabaseIsNew, openDatabase } from './db/database.ts';
import { stdoutDestination } from './platform/log-destination.ts';
import { loggerOptions } from './platform/logger.ts';
import { onStopSignal } from './platform/stop-signals.ts';

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`orgplane: configuration error: ${error.message}`);
      process.exit(78);
    }
    throw error;
  }
  // A start that takes a while says what it does before the server can log anything: creating the
  // embedded database (a template copy, or initdb when there is none: seconds, repeated with the
  // time so far), and applying migrations.
  const startLog = pino(loggerOptions(config.logLevel), stdoutDestination());
  if (!config.databaseUrl && embeddedDatabaseIsNew(config.dataDir)) {
    startLog.info({ dataDir: config.dataDir }, 'first start: creating the embedded database');
  }
  // The database first: the embedded one starts in a process of its own (~0.5 s) while this one
  // loads the application (as long again), instead of one after the other (ADR 17).
  const opening = openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    onProgress: (step, elapsedMs) => startLog.info({ elapsedMs }, step),
  });
  opening.catch(() => undefined); // startOrgplane awaits it; not an unhandled rejection meanwhile
  const { startOrgplane } = await import('./bootstrap.ts');
  const orgplane = await startOrgplane(config, opening);
  const { app } = orgplane;
  // SIGINT and SIGTERM come through onStopSignal (an echo through npm is not a second signal).
  // Grace 9.5 s, then at most 0.5 s to write the last log lines (log-destination.ts): 10 s in all.
  let stopSignal: NodeJS.Signals | undefined;
  const grace = closeWithGrace({ delay: 9_500, skip: ['SIGINT', 'SIGTERM'] }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal: signal ?? stopSignal }, 'shutting down');
    await orgplane.close();
  });
  onStopSignal((signal) => {
    stopSignal = signal;
    void grace.close();
  });
  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    {
      url: config.publicUrl,
      database: config.databaseUrl ? 'postgres' : `embedded (${config.dataDir})`,
      // Since the process started (ADR 17: what a start costs, and where).
      startupMs: Math.round(performance.now()),
    },
    `Orgplane is serving on port ${config.port}; API docs at ${config.publicUrl}/docs`,
  );
}

main().catch((error) => {
  // Found while starting (e.g. a master key that does not match the data): still configuration.
  if (error instanceof ConfigError) {
    console.error(`orgplane: configuration error: ${error.message}`);
    process.exit(78);
  }
  console.error('orgplane: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
