import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedTestDatabase, onPostgres, type TestDatabase } from '../../../../test/database.ts';
import type { RateLimitRule } from '../config.ts';
import type { Db } from '../db/schema.ts';
import { RateLimiter } from './rate-limiter.ts';

const RULE: RateLimitRule = { max: 10, windowSeconds: 900 };
const SHORT: RateLimitRule = { max: 10, windowSeconds: 1 };

let test: TestDatabase;
let db: Db;
let limiter: RateLimiter;
let counter = 0;
const key = (label: string) => `test:${label}:${++counter}`;

beforeAll(async () => {
  const opened = await migratedTestDatabase();
  test = opened.test;
  db = opened.database.db;
  limiter = new RateLimiter(db);
});
afterAll(async () => {
  await test?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RateLimiter', () => {
  it('counts hits per key and reports the time left in the window', async () => {
    const a = key('a');
    const b = key('b');
    expect(await limiter.peek(a)).toEqual({ count: 0, retryAfterSeconds: 1 });
    expect((await limiter.hit(a, RULE)).count).toBe(1);
    expect((await limiter.hit(a, RULE)).count).toBe(2);
    const third = await limiter.hit(a, RULE);
    expect(third.count).toBe(3);
    expect(third.retryAfterSeconds).toBeGreaterThan(890);
    expect(third.retryAfterSeconds).toBeLessThanOrEqual(900);
    expect((await limiter.hit(b, RULE)).count).toBe(1);
    const peeked = await limiter.peek(a);
    expect(peeked.count).toBe(3);
    expect(peeked.retryAfterSeconds).toBeGreaterThan(890);
    expect((await limiter.peek(a)).count).toBe(3); // peeking counts nothing
  });

  it('keeps the window end fixed while counting (a fixed window, not a sliding one)', async () => {
    const k = key('fixed');
    await limiter.hit(k, RULE);
    const before = await db
      .selectFrom('rate_limit_counters')
      .select('window_ends_at')
      .where('key', '=', k)
      .executeTakeFirstOrThrow();
    await limiter.hit(k, RULE);
    const after = await db
      .selectFrom('rate_limit_counters')
      .select('window_ends_at')
      .where('key', '=', k)
      .executeTakeFirstOrThrow();
    expect(new Date(after.window_ends_at).getTime()).toBe(new Date(before.window_ends_at).getTime());
  });

  // The two tests that wait for a window to expire wait side by side.
  it.concurrent('starts a new window at 1 once the old one has expired', async ({ expect }) => {
    const k = key('expiry');
    expect((await limiter.hit(k, SHORT)).count).toBe(1);
    expect((await limiter.hit(k, SHORT)).count).toBe(2);
    expect((await limiter.hit(k, SHORT)).retryAfterSeconds).toBe(1);
    await sleep(1_100);
    expect((await limiter.peek(k)).count).toBe(0);
    const fresh = await limiter.hit(k, SHORT);
    expect(fresh.count).toBe(1);
    expect(fresh.retryAfterSeconds).toBe(1);
    expect((await limiter.hit(k, SHORT)).count).toBe(2);
  });

  it('release takes one event back and never goes below zero', async () => {
    const k = key('release');
    await limiter.hit(k, RULE);
    await limiter.hit(k, RULE);
    await limiter.release(k);
    expect((await limiter.peek(k)).count).toBe(1);
    await limiter.release(k);
    await limiter.release(k);
    expect((await limiter.peek(k)).count).toBe(0);
    expect((await limiter.hit(k, RULE)).count).toBe(1);
    await limiter.release(key('never-hit')); // no row: nothing happens
  });

  it('reset forgets the key', async () => {
    const k = key('reset');
    const other = key('reset-other');
    await limiter.hit(k, RULE);
    await limiter.hit(k, RULE);
    await limiter.hit(other, RULE);
    await limiter.reset(k);
    expect((await limiter.peek(k)).count).toBe(0);
    expect((await limiter.peek(other)).count).toBe(1);
    expect((await limiter.hit(k, RULE)).count).toBe(1);
  });

  it.concurrent('sweep drops expired windows only', async ({ expect }) => {
    const expired = key('sweep-expired');
    const live = key('sweep-live');
    await limiter.hit(expired, SHORT);
    await limiter.hit(live, RULE);
    await sleep(1_100);
    await limiter.sweep();
    const keys = (
      await db.selectFrom('rate_limit_counters').select('key').where('key', 'in', [expired, live]).execute()
    ).map((r) => r.key);
    expect(keys).toEqual([live]);
    expect((await limiter.peek(live)).count).toBe(1);
  });

  it(`loses no update under 50 parallel hits on one key${onPostgres ? ' (PostgreSQL, several connections)' : ''}`, async () => {
    const k = key('parallel');
    // On PostgreSQL use a second handle with its own pool, so the hits really run side by side.
    const handle = onPostgres ? await test.open({ poolSize: 20 }) : null;
    const parallel = new RateLimiter(handle?.db ?? db);
    const states = await Promise.all(Array.from({ length: 50 }, () => parallel.hit(k, RULE)));
    expect(states.map((s) => s.count).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect((await limiter.peek(k)).count).toBe(50);
  });
});
