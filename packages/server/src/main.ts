// Entry point: read config, open and migrate the database, serve, and shut down gracefully
// (stop accepting, finish in-flight requests, close the database) on SIGTERM/SIGINT.
// First: before anything else loads (see the modules).
import './platform/tick-shape.ts';
import './platform/no-pretenuring.ts';
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { startOrgplane } from './bootstrap.ts';
import { ConfigError, loadConfig } from './config.ts';
import { embeddedDatabaseIsNew } from './db/database.ts';
import { loggerOptions } from './platform/logger.ts';

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
  // The first start is the slow one (seconds, before the server logs anything): say what it does.
  if (!config.databaseUrl && embeddedDatabaseIsNew(config.dataDir)) {
    pino(loggerOptions(config.logLevel)).info(
      { dataDir: config.dataDir },
      'first start: creating the embedded database (a few seconds)',
    );
  }
  const orgplane = await startOrgplane(config, { url: config.databaseUrl, dataDir: config.dataDir });
  const { app } = orgplane;
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    await orgplane.close();
  });
  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    { url: config.publicUrl, database: config.databaseUrl ? 'postgres' : `embedded (${config.dataDir})` },
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
