// Things made with an API key (child keys, deploy tokens, service tokens) must never outlive a
// revocation that raced their creation. The creating transaction share-locks the calling key's row
// and requires it to be live; revocation locks that row for update first. So either the creation
// commits first and the revocation (its next statement) sees and revokes the child, or the
// creation waits, finds the key revoked, and is refused.
import { sql } from 'kysely';
import type { Principal } from '../http/principal.ts';
import { apiKeyIdOf } from '../http/principal.ts';
import { problems } from '../http/problem.ts';
import type { Executor } from './schema.ts';

export async function lockCallingKey(trx: Executor, orgId: string, principal: Principal): Promise<void> {
  const keyId = apiKeyIdOf(principal);
  if (!keyId) return;
  const live = await trx
    .selectFrom('api_keys')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', '=', keyId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .forShare()
    .executeTakeFirst();
  if (!live)
    throw problems.unauthorized('The credential is invalid, expired or revoked.', 'invalid_credential');
}
