// Orgplane as production runs it (same startOrgplane, config from the environment: LOG_LEVEL unset
// with stdout to a file, then LOG_LEVEL=silent; bench/logging.ts), listening on 127.0.0.1 on a
// free port. bench/backends.ts sets the environment:
// embedded PGlite in ORGPLANE_DATA_DIR, or DATABASE_URL with BENCH_SCHEMA (a schema it created).
//
// One command of its own over the control channel: `bulk-api-keys`, for the scale run. It inserts
// through the server's own database handle, because with PGlite this process owns the data
// directory (no second client can open it); on PostgreSQL the same path keeps the two backends alike.
// First: before anything else loads (see the modules).
import '../../packages/server/src/platform/tick-shape.ts';
import '../../packages/server/src/platform/no-pretenuring.ts';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { startOrgplane } from '../../packages/server/src/bootstrap.ts';
import { loadConfig } from '../../packages/server/src/config.ts';
import { type ControlCommand, reportFailure, reportReady, serveControl } from './control.ts';

async function main() {
  const config = loadConfig(process.env);
  const schema = process.env.BENCH_SCHEMA || undefined;
  const orgplane = await startOrgplane(config, {
    url: config.databaseUrl,
    dataDir: config.dataDir,
    ...(schema ? { schema } : {}),
  });
  const db = orgplane.deps.db;

  const extra = async (command: ControlCommand): Promise<unknown> => {
    if (command.cmd !== 'bulk-api-keys') throw new Error(`unknown command ${command.cmd}`);
    // Rows that look like real keys to the index (random 64-hex hashes, uuids) but whose secrets
    // nobody knows. INSERT fires no change trigger (only UPDATE and DELETE do): no cache is touched.
    await sql`
      INSERT INTO api_keys (org_id, id, name, key_hash, key_start, scopes, created_by_user_id)
      SELECT ${command.orgId}::uuid, gen_random_uuid(), 'bulk ' || g,
             encode(sha256(convert_to('orgplane-bench-bulk-' || g, 'UTF8')), 'hex'),
             'fl_bulk', ARRAY['read:org'], ${command.userId}::uuid
      FROM generate_series(${command.from}::int, ${command.to}::int) AS g`.execute(db);
    // Leave no background work behind to disturb the measurement: vacuum now rather than let
    // autovacuum start during the run, and flush the inserted pages (a checkpoint needs superuser
    // rights on PostgreSQL 15; without them the run goes on and autovacuum may show in its p99).
    await sql`VACUUM (ANALYZE) api_keys`.execute(db);
    await sql`CHECKPOINT`.execute(db).catch(() => undefined);
    const count = await sql<{ n: string }>`SELECT count(*) AS n FROM api_keys`.execute(db);
    return Number(count.rows[0]?.n ?? 0);
  };

  serveControl(() => orgplane.close(), extra);
  await orgplane.app.listen({ port: 0, host: '127.0.0.1' });
  reportReady((orgplane.app.server.address() as AddressInfo).port);
}

main().catch((error: unknown) => {
  reportFailure(error);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
