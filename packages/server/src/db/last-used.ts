// `last_used_at` of API keys and deploy tokens, written in batches: a credential used a thousand
// times a second costs one UPDATE per flush, not a write per request. Times are kept per node and
// merged with greatest(), so nodes flushing in any order never move a timestamp backwards.
import { sql } from 'kysely';
import type { Db } from './schema.ts';

type Table = 'api_keys' | 'deploy_tokens';

export class LastUsedRecorder {
  private pending: Record<Table, Map<string, number>> = { api_keys: new Map(), deploy_tokens: new Map() };

  constructor(private readonly db: Db) {}

  /** On the hot path of every request with a key: a number in a map, nothing more. */
  touch(table: Table, id: string): void {
    this.pending[table].set(id, Date.now());
  }

  async flush(): Promise<void> {
    for (const table of Object.keys(this.pending) as Table[]) {
      const batch = this.pending[table];
      if (batch.size === 0) continue;
      this.pending[table] = new Map();
      const ids = [...batch.keys()];
      const times = ids.map((id) => new Date(batch.get(id) as number).toISOString());
      await sql`
        UPDATE ${sql.table(table)} AS t
        SET last_used_at = greatest(t.last_used_at, v.used_at)
        FROM unnest(${ids}::uuid[], ${times}::timestamptz[]) AS v(id, used_at)
        WHERE t.id = v.id`.execute(this.db);
    }
  }
}
