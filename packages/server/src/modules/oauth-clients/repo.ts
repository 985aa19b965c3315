// SQL for OAuth clients. Every query takes the org scope first: a client of another org is not found.
import { sql } from 'kysely';
import type { Executor, Insertable, OAuthClientsTable, Selectable } from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export type OAuthClientRow = Selectable<OAuthClientsTable>;

export interface OAuthClientWrite {
  name?: string;
  description?: string | null;
  redirect_uris?: string[];
  scopes?: string[];
}

export async function insertOAuthClient(db: Executor, client: Insertable<OAuthClientsTable>) {
  return (await db
    .insertInto('oauth_clients')
    .values(client)
    .returningAll()
    .executeTakeFirstOrThrow()) as OAuthClientRow;
}

export async function listOAuthClients(db: Executor, orgId: string, page: Page) {
  let query = db.selectFrom('oauth_clients').selectAll().where('org_id', '=', orgId);
  if (page.after) query = query.where('id', '>', page.after);
  return (await query
    .orderBy('id')
    .limit(page.limit + 1)
    .execute()) as OAuthClientRow[];
}

export async function findOAuthClient(db: Executor, orgId: string, clientId: string) {
  return (
    ((await db
      .selectFrom('oauth_clients')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', clientId)
      .executeTakeFirst()) as OAuthClientRow | undefined) ?? null
  );
}

export async function updateOAuthClient(
  db: Executor,
  orgId: string,
  clientId: string,
  fields: OAuthClientWrite,
) {
  return (
    ((await db
      .updateTable('oauth_clients')
      .set({ ...fields, updated_at: sql<Date>`now()` })
      .where('org_id', '=', orgId)
      .where('id', '=', clientId)
      .returningAll()
      .executeTakeFirst()) as OAuthClientRow | undefined) ?? null
  );
}

/** Replaces a confidential client's secret; null when there is no such confidential client. */
export async function replaceOAuthClientSecret(
  db: Executor,
  orgId: string,
  clientId: string,
  secret: { secret_hash: string; secret_start: string },
) {
  return (
    ((await db
      .updateTable('oauth_clients')
      .set({
        secret_hash: secret.secret_hash,
        secret_start: secret.secret_start,
        updated_at: sql<Date>`now()`,
      })
      .where('org_id', '=', orgId)
      .where('id', '=', clientId)
      .where('type', '=', 'confidential')
      .returning(['id'])
      .executeTakeFirst()) as { id: string } | undefined) ?? null
  );
}

/** Deletes the client; returns what it was (for the audit entry), or null when there was none. */
export async function deleteOAuthClient(db: Executor, orgId: string, clientId: string) {
  return (
    ((await db
      .deleteFrom('oauth_clients')
      .where('org_id', '=', orgId)
      .where('id', '=', clientId)
      .returning(['id', 'name', 'type'])
      .executeTakeFirst()) as { id: string; name: string; type: string } | undefined) ?? null
  );
}
