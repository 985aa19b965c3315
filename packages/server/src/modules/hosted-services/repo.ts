// SQL for hosted services and their service tokens. Tenant queries take the org scope first; the
// lookup by token hash used by introspection is the only one without it (the token names its org).
import { sql } from 'kysely';
import type {
  Executor,
  HostedServicesTable,
  Insertable,
  OrgStatus,
  Selectable,
  ServiceTokensTable,
} from '../../db/schema.ts';
import type { Page } from '../../http/pagination.ts';

export interface ServiceTokenRecordRow {
  id: string;
  org_id: string;
  workspace_id: string;
  service_id: string;
  claims: Record<string, unknown>;
  expires_at: Date;
  created_at: Date;
  org_status: OrgStatus;
}

/** A live service token (unrevoked, unexpired) by its hash. */
export async function findLiveServiceToken(db: Executor, hash: string) {
  return (
    ((await db
      .selectFrom('service_tokens as t')
      .innerJoin('organizations as o', 'o.id', 't.org_id')
      .select([
        't.id',
        't.org_id',
        't.workspace_id',
        't.service_id',
        't.claims',
        't.expires_at',
        't.created_at',
        'o.status as org_status',
      ])
      .where('t.token_hash', '=', hash)
      .where('t.revoked_at', 'is', null)
      .where('t.expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst()) as ServiceTokenRecordRow | undefined) ?? null
  );
}

// ── hosted services ──────────────────────────────────────────────────────────────────────────

export type HostedServiceRow = Selectable<HostedServicesTable>;

export interface HostedServiceWrite {
  name?: string;
  description?: string | null;
  url?: string | null;
}

/** Inserts unless the name is taken in the workspace; null then (the transaction stays usable). */
export async function insertHostedService(
  db: Executor,
  orgId: string,
  workspaceId: string,
  service: { id: string; name: string; description: string | null; url: string | null },
) {
  const row = await db
    .insertInto('hosted_services')
    .values({ org_id: orgId, workspace_id: workspaceId, ...service })
    .onConflict((oc) => oc.columns(['org_id', 'workspace_id', 'name']).doNothing())
    .returningAll()
    .executeTakeFirst();
  return (row as HostedServiceRow | undefined) ?? null;
}

export async function listHostedServices(db: Executor, orgId: string, workspaceId: string, page: Page) {
  let query = db
    .selectFrom('hosted_services')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('workspace_id', '=', workspaceId);
  if (page.after) query = query.where('id', '>', page.after);
  return (await query
    .orderBy('id')
    .limit(page.limit + 1)
    .execute()) as HostedServiceRow[];
}

export async function findHostedService(db: Executor, orgId: string, workspaceId: string, serviceId: string) {
  return (
    ((await db
      .selectFrom('hosted_services')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', serviceId)
      .executeTakeFirst()) as HostedServiceRow | undefined) ?? null
  );
}

export async function hostedServiceNameTaken(
  db: Executor,
  orgId: string,
  workspaceId: string,
  name: string,
  exceptId: string,
) {
  return !!(await db
    .selectFrom('hosted_services')
    .select('id')
    .where('org_id', '=', orgId)
    .where('workspace_id', '=', workspaceId)
    .where('name', '=', name)
    .where('id', '<>', exceptId)
    .executeTakeFirst());
}

export async function updateHostedService(
  db: Executor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
  fields: HostedServiceWrite,
) {
  return (
    ((await db
      .updateTable('hosted_services')
      .set({ ...fields, updated_at: sql<Date>`now()` })
      .where('org_id', '=', orgId)
      .where('workspace_id', '=', workspaceId)
      .where('id', '=', serviceId)
      .returningAll()
      .executeTakeFirst()) as HostedServiceRow | undefined) ?? null
  );
}

export async function deleteHostedService(
  db: Executor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('hosted_services')
    .where('org_id', '=', orgId)
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', serviceId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

// ── service tokens ───────────────────────────────────────────────────────────────────────────

export type ServiceTokenRow = Selectable<ServiceTokensTable>;

export async function insertServiceToken(db: Executor, token: Insertable<ServiceTokensTable>) {
  return (await db
    .insertInto('service_tokens')
    .values(token)
    .returningAll()
    .executeTakeFirstOrThrow()) as ServiceTokenRow;
}

export async function listServiceTokens(
  db: Executor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
  page: Page,
  includeRevoked: boolean,
) {
  let query = db
    .selectFrom('service_tokens')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('workspace_id', '=', workspaceId)
    .where('service_id', '=', serviceId);
  if (!includeRevoked) query = query.where('revoked_at', 'is', null);
  if (page.after) query = query.where('id', '>', page.after);
  return (await query
    .orderBy('id')
    .limit(page.limit + 1)
    .execute()) as ServiceTokenRow[];
}

export async function findServiceToken(
  db: Executor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
  tokenId: string,
) {
  return (
    ((await db
      .selectFrom('service_tokens')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('workspace_id', '=', workspaceId)
      .where('service_id', '=', serviceId)
      .where('id', '=', tokenId)
      .executeTakeFirst()) as ServiceTokenRow | undefined) ?? null
  );
}

/** Revokes the token if it is not already; true when it was revoked now. */
export async function revokeServiceToken(db: Executor, orgId: string, tokenId: string): Promise<boolean> {
  const result = await db
    .updateTable('service_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes every token of a service (before the service itself); returns their ids. */
export async function deleteServiceTokensOf(
  db: Executor,
  orgId: string,
  workspaceId: string,
  serviceId: string,
): Promise<string[]> {
  const rows = await db
    .deleteFrom('service_tokens')
    .where('org_id', '=', orgId)
    .where('workspace_id', '=', workspaceId)
    .where('service_id', '=', serviceId)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

/** Revokes the live service tokens minted with any of these API keys (the keys were revoked). */
export async function revokeServiceTokensOfKeys(db: Executor, orgId: string, keyIds: string[]) {
  const rows = await db
    .updateTable('service_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('created_by_api_key_id', 'in', keyIds)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}
