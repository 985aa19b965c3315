// Fixed-window counters kept in the database, so every API node sees the same counts and a
// burst of parallel requests cannot slip past the limit: the increment is one atomic upsert.
import { sql } from 'kysely';
import type { RateLimitRule } from '../config.ts';
import type { Db } from '../db/schema.ts';

export interface LimitState {
  count: number;
  /** Seconds until the window resets. */
  retryAfterSeconds: number;
}

export class RateLimiter {
  constructor(private readonly db: Db) {}

  /** Current count in the key's window, without counting anything. */
  async peek(key: string): Promise<LimitState> {
    const row = await this.db
      .selectFrom('rate_limit_counters')
      .select(['count', sql<number>`ceil(extract(epoch from window_ends_at - now()))::int`.as('retry')])
      .where('key', '=', key)
      .where('window_ends_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return { count: row?.count ?? 0, retryAfterSeconds: Math.max(1, row?.retry ?? 1) };
  }

  /** Counts one event and returns the count including it. */
  async hit(key: string, rule: RateLimitRule): Promise<LimitState> {
    const window = sql`now() + make_interval(secs => ${rule.windowSeconds})`;
    const row = await this.db
      .insertInto('rate_limit_counters')
      .values({ key, count: 1, window_ends_at: window as never })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          count: sql`CASE WHEN rate_limit_counters.window_ends_at <= now() THEN 1 ELSE rate_limit_counters.count + 1 END`,
          window_ends_at: sql`CASE WHEN rate_limit_counters.window_ends_at <= now() THEN ${window} ELSE rate_limit_counters.window_ends_at END`,
        }),
      )
      .returning(['count', sql<number>`ceil(extract(epoch from window_ends_at - now()))::int`.as('retry')])
      .executeTakeFirstOrThrow();
    return { count: row.count, retryAfterSeconds: Math.max(1, row.retry) };
  }

  /** Takes back one counted event (an attempt that turned out not to count, e.g. a good login). */
  async release(key: string): Promise<void> {
    await this.db
      .updateTable('rate_limit_counters')
      .set({ count: sql`greatest(count - 1, 0)` })
      .where('key', '=', key)
      .execute();
  }

  async reset(key: string): Promise<void> {
    await this.db.deleteFrom('rate_limit_counters').where('key', '=', key).execute();
  }

  /** Drops expired windows; called periodically so the table stays small. */
  async sweep(): Promise<void> {
    await this.db.deleteFrom('rate_limit_counters').where('window_ends_at', '<=', sql<Date>`now()`).execute();
  }
}
