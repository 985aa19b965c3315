// Run as a short-lived child process by db/pglite.ts: creates the embedded data directory if it is
// new (initdb) and applies pending migrations, so that the server process itself never runs them.
// Both leave the process that ran them measurably slower and larger for its whole life (ADR 12).
//   node --import tsx packages/server/src/db/prepare-embedded.ts <pgdata dir>
import { migrate } from './migrate.ts';
import { createPglite, pgliteRunner } from './pglite.ts';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: prepare-embedded.ts <pgdata dir>');
  process.exit(64);
}
const client = await createPglite(dir);
try {
  await migrate(pgliteRunner(client));
} finally {
  await client.close();
}
