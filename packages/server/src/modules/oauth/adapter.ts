// oidc-provider's storage, on our database (both dialects): every model in `oauth_models`, except
// clients, which are the orgs' OAuth clients (`oauth_clients`, managed through the API) presented
// as oidc-provider client metadata. Interface: oidc-provider's adapter contract
// (upsert/find/findByUserCode/findByUid/consume/destroy/revokeByGrantId).

import { sql } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { isGrantable } from '../../access/permissions.ts';
import type { Db } from '../../db/schema.ts';
import { isUuid } from '../../platform/ids.ts';
import { PROTOCOL_SCOPES } from '../oauth-clients/validation.ts';

/** Extra client metadata: the org that registered the client, and the API scopes it registered. */
export const CLIENT_ORG = 'org_id';
export const CLIENT_API_SCOPES = 'api_scopes';

export function adapterFor(db: Db) {
  return class KyselyAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const row = {
        model: this.model,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        client_id: payload.clientId && isUuid(payload.clientId) ? payload.clientId : null,
        account_id: payload.accountId && isUuid(payload.accountId) ? payload.accountId : null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      await db
        .insertInto('oauth_models')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['model', 'id']).doUpdateSet({
            payload: row.payload,
            grant_id: row.grant_id,
            user_code: row.user_code,
            uid: row.uid,
            client_id: row.client_id,
            account_id: row.account_id,
            expires_at: row.expires_at,
          }),
        )
        .execute();
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return findClient(db, id);
      return this.findWhere('id', id);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findWhere('user_code', userCode);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findWhere('uid', uid);
    }

    async consume(id: string): Promise<void> {
      await db
        .updateTable('oauth_models')
        .set({ consumed_at: sql`now()` })
        .where('model', '=', this.model)
        .where('id', '=', id)
        .execute();
    }

    async destroy(id: string): Promise<void> {
      await db.deleteFrom('oauth_models').where('model', '=', this.model).where('id', '=', id).execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db
        .deleteFrom('oauth_models')
        .where('model', '=', this.model)
        .where('grant_id', '=', grantId)
        .execute();
    }

    private async findWhere(column: 'id' | 'user_code' | 'uid', value: string) {
      const row = await db
        .selectFrom('oauth_models')
        .select(['payload', 'consumed_at', 'expires_at'])
        .where('model', '=', this.model)
        .where(column, '=', value)
        .executeTakeFirst();
      if (!row) return undefined;
      if (row.expires_at && row.expires_at.getTime() <= Date.now()) return undefined;
      const payload = (
        typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload
      ) as AdapterPayload;
      return row.consumed_at
        ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) }
        : payload;
    }
  };
}

/**
 * An org's OAuth client as oidc-provider client metadata. The secret is stored as SHA-256 only, so
 * `client_secret` carries that hash and the provider compares through `compareClientSecret`
 * (provider.ts); symmetric algorithms, which would need the secret itself, are not offered.
 */
async function findClient(db: Db, clientId: string): Promise<AdapterPayload | undefined> {
  if (!isUuid(clientId)) return undefined;
  const row = await db
    .selectFrom('oauth_clients')
    .innerJoin('organizations', 'organizations.id', 'oauth_clients.org_id')
    .select([
      'oauth_clients.id',
      'oauth_clients.org_id',
      'oauth_clients.name',
      'oauth_clients.type',
      'oauth_clients.redirect_uris',
      'oauth_clients.scopes',
      'oauth_clients.secret_hash',
      'organizations.status',
    ])
    .where('oauth_clients.id', '=', clientId.toLowerCase())
    .executeTakeFirst();
  // An archived or suspended org's clients stop with it.
  if (row?.status !== 'active') return undefined;
  const confidential = row.type === 'confidential' && row.secret_hash;
  const protocolScopes = row.scopes.filter((scope) => (PROTOCOL_SCOPES as readonly string[]).includes(scope));
  return {
    client_id: row.id,
    client_name: row.name,
    redirect_uris: row.redirect_uris,
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    // oidc-provider checks the protocol scopes against `scope`; API scopes are the resource
    // server's (provider.ts), bounded by what the client registered.
    scope: protocolScopes.length ? protocolScopes.join(' ') : 'openid',
    [CLIENT_API_SCOPES]: row.scopes.filter((scope) => isGrantable(scope)),
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    ...(confidential ? { client_secret: row.secret_hash } : {}),
    [CLIENT_ORG]: row.org_id,
  } as AdapterPayload;
}
