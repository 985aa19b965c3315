// Orgplane as production runs it (same startOrgplane, config from the environment, the pino logger
// at LOG_LEVEL=silent), listening on 127.0.0.1 on a free port. bench/run.ts sets the environment:
// embedded PGlite in ORGPLANE_DATA_DIR, or DATABASE_URL with BENCH_SCHEMA (a schema it created).
import type { AddressInfo } from 'node:net';
import { startOrgplane } from '../../packages/server/src/bootstrap.ts';
import { loadConfig } from '../../packages/server/src/config.ts';
import { reportFailure, reportReady, serveControl } from './control.ts';

async function main() {
  const config = loadConfig(process.env);
  const schema = process.env.BENCH_SCHEMA || undefined;
  const orgplane = await startOrgplane(config, {
    url: config.databaseUrl,
    dataDir: config.dataDir,
    ...(schema ? { schema } : {}),
  });
  serveControl(() => orgplane.close());
  await orgplane.app.listen({ port: 0, host: '127.0.0.1' });
  reportReady((orgplane.app.server.address() as AddressInfo).port);
}

main().catch((error: unknown) => {
  reportFailure(error);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
