// SQL for hosted services and their service tokens. Tenant queries take the org scope first; the
// lookup by token hash used by introspection is the only one without it (the token names its org).
import { sql } from 'kysely';
import type { Executor } from '../../db/schema.ts';

export interface ServiceTokenRecordRow {
  id: string;
  org_id: string;
  workspace_id: string;
  service_id: string;
  claims: Record<string, unknown>;
  expires_at: Date;
  created_at: Date;
}

/** A live service token (unrevoked, unexpired) by its hash. */
export async function findLiveServiceToken(db: Executor, hash: string) {
  return (
    ((await db
      .selectFrom('service_tokens')
      .select(['id', 'org_id', 'workspace_id', 'service_id', 'claims', 'expires_at', 'created_at'])
      .where('token_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst()) as ServiceTokenRecordRow | undefined) ?? null
  );
}
