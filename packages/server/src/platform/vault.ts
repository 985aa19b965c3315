// Per-org data keys (envelope encryption). Each org gets a random 256-bit data key at creation,
// stored only wrapped by the master key; tenant secrets are sealed with it, bound by AAD to their
// org and row. Unwrapped keys are cached in memory: they never change for the life of an org.
import { randomBytes } from 'node:crypto';
import type { Executor } from '../db/schema.ts';
import { type MasterKey, open, seal } from './envelope.ts';

const CACHE_LIMIT = 10_000;

export class Vault {
  private readonly dataKeys = new Map<string, Buffer>();

  constructor(readonly masterKey: MasterKey) {}

  /** Creates the org's data key inside the transaction that creates the org. */
  async createOrgKey(db: Executor, orgId: string): Promise<void> {
    const key = randomBytes(32);
    await db
      .insertInto('org_data_keys')
      .values({
        org_id: orgId,
        wrapped_key: this.masterKey.encrypt(key, `org-data-key:${orgId}`),
        master_key_id: this.masterKey.id,
      })
      .execute();
  }

  async seal(db: Executor, orgId: string, plaintext: string, context: string): Promise<string> {
    return seal(await this.dataKey(db, orgId), Buffer.from(plaintext, 'utf8'), `${orgId}:${context}`);
  }

  async open(db: Executor, orgId: string, sealed: string, context: string): Promise<string> {
    return open(await this.dataKey(db, orgId), sealed, `${orgId}:${context}`).toString('utf8');
  }

  private async dataKey(db: Executor, orgId: string): Promise<Buffer> {
    const cached = this.dataKeys.get(orgId);
    if (cached) return cached;
    const row = await db
      .selectFrom('org_data_keys')
      .select('wrapped_key')
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    const key = this.masterKey.decrypt(row.wrapped_key, `org-data-key:${orgId}`);
    if (this.dataKeys.size >= CACHE_LIMIT) this.dataKeys.clear();
    this.dataKeys.set(orgId, key);
    return key;
  }
}
