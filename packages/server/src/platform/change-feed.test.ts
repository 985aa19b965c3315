// The change feed: what the database announces on `orgplane_changes` reaches every subscriber
// (PGlite in process; PGlite in its own process, over its one socket connection; PostgreSQL over a
// dedicated LISTEN connection that reconnects; the last two report when they are deaf), only
// committed changes are announced, and the triggers of migration 0004 name exactly the
// credentials a change affects — and stay silent for batched last_used_at writes.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratedTestDatabase, onPostgres, type TestDatabase } from '../../../../test/database.ts';
import { type OpenDatabase, openDatabase } from '../db/database.ts';
import { LastUsedRecorder } from '../db/last-used.ts';
import type { Db } from '../db/schema.ts';
import { PgliteWireServer } from '../db/wire-server.ts';
import {
  CHANGES_CHANNEL,
  type ChangeFeed,
  type ChangeListener,
  InProcessChangeFeed,
  PostgresChangeFeed,
  SessionChangeFeed,
} from './change-feed.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A user, an org and an API key of that user, as rows: what the triggers and batches act on. */
async function insertKeyWithOwner(db: Db): Promise<{ userId: string; orgId: string; keyId: string }> {
  const userId = randomUUID();
  const orgId = randomUUID();
  const keyId = randomUUID();
  await sql`INSERT INTO users (id, email, password_hash) VALUES (${userId}, ${`${userId}@example.com`}, 'x')`.execute(
    db,
  );
  await sql`INSERT INTO organizations (id, name, slug) VALUES (${orgId}, 'Org', ${`org-${orgId}`})`.execute(
    db,
  );
  await sql`
    INSERT INTO api_keys (org_id, id, name, key_hash, key_start, scopes, created_by_user_id)
    VALUES (${orgId}, ${keyId}, 'k', ${randomBytes(16).toString('hex')}, 'fl_abcdefgh', ${['read:org']}, ${userId})`.execute(
    db,
  );
  return { userId, orgId, keyId };
}

/** A subscriber that records what it hears, and lets a test wait for a tag or a hearing state. */
class Recorder implements ChangeListener {
  heard: string[] = [];
  hearing: boolean[] = [];
  private waiters: Array<() => void> = [];

  /**
   * On PostgreSQL every schema shares the database's notification channel, so the other test files
   * running meanwhile are heard too: `relevant` keeps only this test's tags (and its sentinels).
   */
  constructor(private readonly relevant: (tag: string) => boolean = () => true) {}

  onChange(tag: string): void {
    if (!tag.startsWith('sentinel:') && !this.relevant(tag)) return;
    this.heard.push(tag);
    this.wake();
  }

  onHearing(hearing: boolean): void {
    this.hearing.push(hearing);
    this.wake();
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Resolves once `done()` holds; rejects after `timeoutMs`. */
  async until(done: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}; heard ${JSON.stringify(this.heard)}, hearing ${JSON.stringify(this.hearing)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async untilHeard(tag: string, timeoutMs?: number) {
    await this.until(() => this.heard.includes(tag), `"${tag}"`, timeoutMs);
  }

  /** Everything heard from now on, up to (not including) a sentinel sent through `notify`. */
  async drain(notify: (payload: string) => Promise<unknown>): Promise<string[]> {
    const sentinel = `sentinel:${randomBytes(4).toString('hex')}`;
    const from = this.heard.length;
    await notify(sentinel);
    await this.untilHeard(sentinel);
    const seen = this.heard.slice(from);
    return seen.slice(0, seen.indexOf(sentinel));
  }
}

// ── PGlite ──────────────────────────────────────────────────────────────────────────────────────

describe('InProcessChangeFeed (PGlite)', () => {
  let client: PGlite;
  let feed: InProcessChangeFeed;
  const recorder = new Recorder();
  const notify = (payload: string, channel = CHANGES_CHANNEL) =>
    client.query('SELECT pg_notify($1, $2)', [channel, payload]);

  beforeAll(async () => {
    client = await PGlite.create();
    feed = await InProcessChangeFeed.start(client);
    feed.subscribe(recorder);
  });
  afterAll(async () => {
    await feed?.close();
    await client?.close();
  });

  it('is hearing once started, and tells a new subscriber so', () => {
    expect(feed.hearing).toBe(true);
    expect(recorder.hearing).toEqual([true]);
  });

  it('hears a pg_notify on orgplane_changes, and nothing on other channels', async () => {
    await notify('key:pglite-1');
    await recorder.untilHeard('key:pglite-1');
    expect(await recorder.drain(notify)).toEqual([]);
    await notify('key:elsewhere', 'another_channel');
    expect(await recorder.drain(notify)).toEqual([]);
  });

  it('never hears a notification of a rolled-back transaction', async () => {
    await client.transaction(async (tx) => {
      await tx.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, 'key:rolled-back']);
      await tx.rollback();
    });
    expect(await recorder.drain(notify)).toEqual([]);
    expect(recorder.heard).not.toContain('key:rolled-back');
  });

  it('hears a committed transaction once, after the commit', async () => {
    const from = recorder.heard.length;
    await client.transaction(async (tx) => {
      await tx.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, 'key:committed']);
      await tx.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, 'key:committed']);
      expect(recorder.heard).not.toContain('key:committed');
    });
    await recorder.drain(notify);
    expect(recorder.heard.slice(from).filter((tag) => tag === 'key:committed')).toEqual(['key:committed']);
  });

  it('reports deafness on close and stops delivering (last: closes the shared feed)', async () => {
    await feed.close();
    expect(feed.hearing).toBe(false);
    expect(recorder.hearing).toEqual([true, false]);
    const from = recorder.heard.length;
    await notify('key:after-close');
    await sleep(50);
    expect(recorder.heard.slice(from)).toEqual([]);
  });
});

// ── the embedded database in its own process: one session over a socket ───────────────────────

describe('SessionChangeFeed (a pool of one connection to a PGlite socket)', () => {
  let lite: PGlite;
  let server: PgliteWireServer;
  let pool: pg.Pool;
  let feed: SessionChangeFeed;
  let socketDir: string;
  const errors: unknown[] = [];
  const recorder = new Recorder();
  const notify = (payload: string, channel = CHANGES_CHANNEL) =>
    pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  const serve = async () => {
    server = new PgliteWireServer({
      db: lite,
      path: path.join(socketDir, '.s.PGSQL.5432'),
      onFatal: (error) => errors.push(error),
    });
    await server.start();
  };

  beforeAll(async () => {
    lite = await PGlite.create();
    socketDir = mkdtempSync(path.join(tmpdir(), 'orgplane-feed-'));
    await serve();
    // A quick heartbeat, so that a wedged connection shows within the test.
    feed = new SessionChangeFeed({ heartbeatMs: 100, deadlineMs: 600 });
    pool = new pg.Pool({
      host: socketDir,
      port: 5432,
      user: 'postgres',
      database: 'postgres',
      max: 1,
      idleTimeoutMillis: 0,
      onConnect: feed.listenOn,
    });
    pool.on('error', () => undefined);
    await feed.start(
      (error) => errors.push(error),
      () => pool.query('SELECT 1'),
    );
    feed.subscribe(recorder);
  });
  afterAll(async () => {
    await feed?.close();
    await pool?.end();
    await server?.stop();
    await lite?.close();
    rmSync(socketDir, { recursive: true, force: true });
  });

  it('is hearing once started, and hears what is committed through its own connection', async () => {
    expect(feed.hearing).toBe(true);
    expect(recorder.hearing).toEqual([true]);
    // Ahead of the answer: a revocation is heard before the request that made it is answered.
    await notify('key:session-1');
    expect(recorder.heard).toContain('key:session-1');
    await notify('key:elsewhere', 'another_channel');
    expect(await recorder.drain(notify)).toEqual([]);
  });

  it('hears a transaction once, when it commits, and never one rolled back', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, 'key:rolled-back']);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, 'key:committed']);
      await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, 'key:committed']);
      expect(recorder.heard).not.toContain('key:committed');
      await client.query('COMMIT');
      expect(recorder.heard.filter((tag) => tag === 'key:committed')).toEqual(['key:committed']);
    } finally {
      client.release();
    }
    expect(await recorder.drain(notify)).toEqual([]);
    expect(recorder.heard).not.toContain('key:rolled-back');
  });

  it('is deaf while its connection is gone, and hears again on the next one', async () => {
    const errorsBefore = errors.length;
    await server.stop();
    await recorder.until(() => recorder.hearing.at(-1) === false, 'onHearing(false)');
    expect(feed.hearing).toBe(false);
    expect(errors.length).toBeGreaterThan(errorsBefore);
    await serve();
    // The pool opens a new connection for the next query; it LISTENs before that query runs.
    await notify('key:after-reconnect');
    expect(recorder.heard).toContain('key:after-reconnect');
    expect(feed.hearing).toBe(true);
    expect(recorder.hearing).toEqual([true, false, true]);
  });

  it('turns deaf when the database stops answering (a wedged process raises no error), and hears again when it answers', async () => {
    const errorsBefore = errors.length;
    // The one connection, taken and held: the heartbeat's round trip cannot get through.
    const held = await pool.connect();
    try {
      await recorder.until(() => recorder.hearing.at(-1) === false, 'onHearing(false)');
      expect(feed.hearing).toBe(false);
      expect(String(errors.at(-1))).toMatch(/did not answer within/);
      expect(errors.length).toBeGreaterThan(errorsBefore);
    } finally {
      held.release();
    }
    await recorder.until(() => recorder.hearing.at(-1) === true, 'onHearing(true)');
    expect(feed.hearing).toBe(true);
    await notify('key:after-wedge');
    expect(recorder.heard).toContain('key:after-wedge');
  });

  it('reports deafness on close and stops delivering (last)', async () => {
    await feed.close();
    expect(feed.hearing).toBe(false);
    expect(recorder.hearing).toEqual([true, false, true, false, true, false]);
    const from = recorder.heard.length;
    await notify('key:after-close');
    await sleep(50);
    expect(recorder.heard.slice(from)).toEqual([]);
  });
});

describe.runIf(!onPostgres)('the embedded database in its own process (a data directory)', () => {
  let dataDir: string;
  let database: OpenDatabase;
  let feed: ChangeFeed;
  const recorder = new Recorder();

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'orgplane-feed-embedded-'));
    database = await openDatabase({ url: null, dataDir });
    await database.migrate();
    feed = await database.changeFeed(() => undefined);
    feed.subscribe(recorder);
  });
  afterAll(async () => {
    await feed?.close();
    await database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hears a key revoked through the pool by the time the revocation is answered', async () => {
    expect(feed.hearing).toBe(true);
    const db = database.db;
    const { keyId } = await insertKeyWithOwner(db);
    expect(recorder.heard).toEqual([]);
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', keyId).execute();
      expect(recorder.heard).toEqual([]);
    });
    expect(recorder.heard).toEqual([`key:${keyId}`]);
    await db.deleteFrom('api_keys').where('id', '=', keyId).execute();
    expect(recorder.heard).toEqual([`key:${keyId}`, `key:${keyId}`]);
  });
});

// ── PostgreSQL ──────────────────────────────────────────────────────────────────────────────────

/** `url` with a query parameter added (pg reads application_name from the connection string). */
function withParam(url: string, name: string, value: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

describe.runIf(onPostgres)('PostgresChangeFeed', () => {
  const base = process.env.TEST_DATABASE_URL as string;
  const schema = `feed_${randomBytes(5).toString('hex')}`;
  const applicationName = `orgplane_feed_test_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let feed: PostgresChangeFeed;
  const errors: unknown[] = [];
  // Tags of this run only (see Recorder).
  const run = randomBytes(4).toString('hex');
  const tag = (name: string) => `key:${run}-${name}`;
  const recorder = new Recorder((heard) => heard.includes(run));
  const notify = (payload: string) => admin.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload]);

  /** The backend of the feed's LISTEN connection (ours by its application_name). */
  async function feedBackends(): Promise<number[]> {
    const result = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
        WHERE application_name = $1 AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()
        ORDER BY backend_start DESC`,
      [applicationName],
    );
    return result.rows.map((row) => row.pid);
  }

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    feed = await PostgresChangeFeed.start({
      connectionString: withParam(base, 'application_name', applicationName),
      schema,
      onError: (error) => errors.push(error),
    });
    feed.subscribe(recorder);
  });
  afterAll(async () => {
    await feed?.close();
    if (admin) {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  it('listens on one dedicated connection, and is hearing once started', async () => {
    expect(feed.hearing).toBe(true);
    expect(recorder.hearing).toEqual([true]);
    expect(await feedBackends()).toHaveLength(1);
  });

  it('hears a NOTIFY on orgplane_changes sent by another connection', async () => {
    const started = Date.now();
    await admin.query(`NOTIFY ${CHANGES_CHANNEL}, '${tag('pg-1')}'`);
    await recorder.untilHeard(tag('pg-1'));
    console.log(`PostgresChangeFeed: NOTIFY heard after ${Date.now() - started} ms`);
    await notify(`org:${run}-pg-2`);
    await recorder.untilHeard(`org:${run}-pg-2`);
    await admin.query(`NOTIFY another_channel, '${tag('elsewhere')}'`);
    expect(await recorder.drain(notify)).toEqual([]);
  });

  it('never hears a notification of a rolled-back transaction, and hears a commit only once committed', async () => {
    await admin.query('BEGIN');
    await notify(tag('rolled-back'));
    await admin.query('ROLLBACK');
    expect(await recorder.drain(notify)).toEqual([]);

    await admin.query('BEGIN');
    await notify(tag('pending'));
    await notify(tag('pending'));
    await sleep(100);
    expect(recorder.heard).not.toContain(tag('pending'));
    // The feed may hear the commit before COMMIT's own answer reaches this client.
    const from = recorder.heard.length;
    await admin.query('COMMIT');
    await recorder.drain(notify);
    expect(recorder.heard.slice(from).filter((heard) => !heard.startsWith('sentinel:'))).toEqual([
      tag('pending'),
    ]);
  });

  it('reports deafness when its connection is killed, reconnects by itself and hears again', async () => {
    const [pid] = await feedBackends();
    expect(pid).toBeTypeOf('number');
    const hearingBefore = recorder.hearing.length;
    const errorsBefore = errors.length;
    const killed = Date.now();
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);

    await recorder.until(() => recorder.hearing.length > hearingBefore, 'onHearing(false)');
    expect(recorder.hearing[hearingBefore]).toBe(false);
    const deafAfter = Date.now() - killed;
    await recorder.until(() => recorder.hearing.length > hearingBefore + 1, 'onHearing(true)', 5_000);
    expect(recorder.hearing.slice(hearingBefore)).toEqual([false, true]);
    const backAfter = Date.now() - killed;
    console.log(
      `PostgresChangeFeed: deaf ${deafAfter} ms after the kill, hearing again after ${backAfter} ms`,
    );
    expect(feed.hearing).toBe(true);
    expect(errors.length).toBeGreaterThan(errorsBefore);

    const backends = await feedBackends();
    expect(backends).toHaveLength(1);
    expect(backends[0]).not.toBe(pid);
    await notify(tag('after-reconnect'));
    await recorder.untilHeard(tag('after-reconnect'), 1_000);
  });

  it('keeps reconnecting while its connections keep being killed, and comes back', async () => {
    // Refuse new connections under this application_name by killing each one as it appears.
    const name = `${applicationName}_retry`;
    const listener = new Recorder((heard) => heard.includes(run));
    const retryErrors: unknown[] = [];
    const retrying = await PostgresChangeFeed.start({
      connectionString: withParam(base, 'application_name', name),
      schema,
      retryMs: 20,
      onError: (error) => retryErrors.push(error),
    });
    retrying.subscribe(listener);
    try {
      const killAll = () =>
        admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
          [name],
        );
      const until = Date.now() + 400;
      while (Date.now() < until) {
        await killAll();
        await sleep(5);
      }
      await listener.until(() => listener.hearing.at(-1) === true && retrying.hearing, 'recovery', 8_000);
      expect(listener.hearing[0]).toBe(true);
      expect(listener.hearing).toContain(false);
      expect(retryErrors.length).toBeGreaterThan(0);
      await admin.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, tag('retry-recovered')]);
      await listener.untilHeard(tag('retry-recovered'));
    } finally {
      await retrying.close();
    }
  });

  it('stops for good on close: deaf, no connection left, no reconnection', async () => {
    const name = `${applicationName}_close`;
    const listener = new Recorder((heard) => heard.includes(run));
    const closing = await PostgresChangeFeed.start({
      connectionString: withParam(base, 'application_name', name),
      retryMs: 10,
    });
    closing.subscribe(listener);
    await closing.close();
    expect(closing.hearing).toBe(false);
    expect(listener.hearing).toEqual([true, false]);
    await sleep(200);
    const left = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [name]);
    expect(left.rowCount).toBe(0);
    expect(listener.hearing).toEqual([true, false]);
  });

  it('fails loudly at start-up when it cannot connect', async () => {
    await expect(
      PostgresChangeFeed.start({ connectionString: 'postgres://nobody@127.0.0.1:1/none' }),
    ).rejects.toThrow();
  });
});

// ── the triggers of migration 0004 (both databases) ────────────────────────────────────────────

describe('change triggers (migration 0004)', () => {
  let test: TestDatabase;
  let db: Db;
  let feed: ChangeFeed;
  /** Ids this describe created: only their tags (and signing_keys) count (see Recorder). */
  const mine = new Set<string>();
  const recorder = new Recorder((tag) => tag === 'signing_keys' || mine.has(tag.slice(tag.indexOf(':') + 1)));
  const own = (id: string) => {
    mine.add(id);
    return id;
  };
  const notify = (payload: string) => sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${payload})`.execute(db);
  /** What the work announced (waits for a sentinel sent after it). */
  const announced = async (work: () => Promise<unknown>) => {
    // Hear out what earlier statements announced first: committed is not yet delivered, and a
    // late tag of the set-up (an org: of a membership) was once counted as this work's.
    await recorder.drain(notify);
    const from = recorder.heard.length;
    await work();
    await recorder.drain(notify);
    const seen = recorder.heard.slice(from);
    return seen.filter((tag) => !tag.startsWith('sentinel:')).sort();
  };

  let userId: string;
  let orgId: string;
  let keyId: string;

  async function newUser(): Promise<string> {
    const id = own(randomUUID());
    await sql`INSERT INTO users (id, email, password_hash) VALUES (${id}, ${`${id}@example.com`}, 'x')`.execute(
      db,
    );
    return id;
  }

  async function newKey(org: string, user: string): Promise<string> {
    const id = own(randomUUID());
    await sql`
      INSERT INTO api_keys (org_id, id, name, key_hash, key_start, scopes, created_by_user_id)
      VALUES (${org}, ${id}, 'k', ${randomBytes(16).toString('hex')}, 'fl_abcdefgh', ${['read:org']}, ${user})`.execute(
      db,
    );
    return id;
  }

  beforeAll(async () => {
    const opened = await migratedTestDatabase();
    test = opened.test;
    db = opened.database.db;
    feed = await opened.database.changeFeed(() => undefined);
    feed.subscribe(recorder);
    userId = await newUser();
    orgId = own(randomUUID());
    await sql`INSERT INTO organizations (id, name, slug) VALUES (${orgId}, 'Org', ${`org-${orgId}`})`.execute(
      db,
    );
    await sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${orgId}, ${userId}, 'owner')`.execute(
      db,
    );
    keyId = await newKey(orgId, userId);
  });
  afterAll(async () => {
    await feed?.close();
    await test?.drop();
  });

  it('announces a user whose email or password changed, not one whose name changed', async () => {
    expect(
      await announced(() => sql`UPDATE users SET email = email || '.x' WHERE id = ${userId}`.execute(db)),
    ).toEqual([`user:${userId}`]);
    expect(
      await announced(() => sql`UPDATE users SET password_hash = 'y' WHERE id = ${userId}`.execute(db)),
    ).toEqual([`user:${userId}`]);
    expect(await announced(() => sql`UPDATE users SET name = 'n' WHERE id = ${userId}`.execute(db))).toEqual(
      [],
    );
  });

  it('announces an org whose status or name changed', async () => {
    expect(
      await announced(() =>
        sql`UPDATE organizations SET status = 'archived' WHERE id = ${orgId}`.execute(db),
      ),
    ).toEqual([`org:${orgId}`]);
    expect(
      await announced(() => sql`UPDATE organizations SET status = 'active' WHERE id = ${orgId}`.execute(db)),
    ).toEqual([`org:${orgId}`]);
    expect(
      await announced(() =>
        sql`UPDATE organizations SET industry = 'x', updated_at = now() WHERE id = ${orgId}`.execute(db),
      ),
    ).toEqual([]);
  });

  it('announces membership changes as changes of the org', async () => {
    const member = await newUser();
    expect(
      await announced(() =>
        sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${orgId}, ${member}, 'admin')`.execute(
          db,
        ),
      ),
    ).toEqual([`org:${orgId}`]);
    expect(
      await announced(() =>
        sql`UPDATE memberships SET role = 'viewer' WHERE org_id = ${orgId} AND user_id = ${member}`.execute(
          db,
        ),
      ),
    ).toEqual([`org:${orgId}`]);
    expect(
      await announced(() =>
        sql`DELETE FROM memberships WHERE org_id = ${orgId} AND user_id = ${member}`.execute(db),
      ),
    ).toEqual([`org:${orgId}`]);
  });

  it('announces a key revoked or deleted, not one created or merely used', async () => {
    let created = '';
    expect(
      await announced(async () => {
        created = await newKey(orgId, userId);
      }),
    ).toEqual([]);
    const recorder1 = new LastUsedRecorder(db);
    recorder1.touch('api_keys', keyId);
    recorder1.touch('api_keys', created);
    expect(await announced(() => recorder1.flush())).toEqual([]);
    expect(
      await announced(() => sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${created}`.execute(db)),
    ).toEqual([`key:${created}`]);
    expect(await announced(() => sql`DELETE FROM api_keys WHERE id = ${created}`.execute(db))).toEqual([
      `key:${created}`,
    ]);
  });

  it('announces a session ended', async () => {
    const session = own(randomUUID());
    await sql`
      INSERT INTO refresh_token_families (id, user_id, org_id, root_id, expires_at)
      VALUES (${session}, ${userId}, ${orgId}, ${session}, now() + interval '1 day')`.execute(db);
    expect(
      await announced(() =>
        sql`UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = 'logout' WHERE id = ${session}`.execute(
          db,
        ),
      ),
    ).toEqual([`session:${session}`]);
  });

  it('announces a new signing key', async () => {
    expect(
      await announced(() =>
        sql`
          INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk_sealed, master_key_id, status)
          VALUES (${randomUUID()}, 'ES256', '{}'::jsonb, 'sealed', 'mk', 'retired')`.execute(db),
      ),
    ).toEqual(['signing_keys']);
  });

  it('announces nothing for a rolled-back change, and identical tags of one transaction once', async () => {
    const other = await newKey(orgId, userId);
    expect(
      await announced(() =>
        db
          .transaction()
          .execute(async (trx) => {
            await sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${other}`.execute(trx);
            throw new Error('roll back');
          })
          .catch(() => undefined),
      ),
    ).toEqual([]);
    expect(
      await announced(() =>
        db.transaction().execute(async (trx) => {
          await sql`UPDATE api_keys SET expires_at = now() + interval '1 day' WHERE id = ${other}`.execute(
            trx,
          );
          await sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${other}`.execute(trx);
        }),
      ),
    ).toEqual([`key:${other}`]);
  });

  it('announces what a user deletion cascades to: the user, their memberships and their keys', async () => {
    const leaver = await newUser();
    await sql`INSERT INTO memberships (org_id, user_id, role) VALUES (${orgId}, ${leaver}, 'admin')`.execute(
      db,
    );
    const theirKey = await newKey(orgId, leaver);
    expect(await announced(() => sql`DELETE FROM users WHERE id = ${leaver}`.execute(db))).toEqual(
      [`key:${theirKey}`, `org:${orgId}`, `user:${leaver}`].sort(),
    );
  });
});

// ── batched last_used_at ────────────────────────────────────────────────────────────────────────

describe('LastUsedRecorder', () => {
  let test: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    const opened = await migratedTestDatabase();
    test = opened.test;
    db = opened.database.db;
  });
  afterAll(async () => {
    await test?.drop();
  });

  it('writes the latest use per key, and nodes flushing out of order never move it backwards', async () => {
    const { keyId } = await insertKeyWithOwner(db);
    const lastUsed = async () =>
      (
        await sql<{
          last_used_at: Date | null;
        }>`SELECT last_used_at FROM api_keys WHERE id = ${keyId}`.execute(db)
      ).rows[0]?.last_used_at ?? null;

    const early = new LastUsedRecorder(db);
    const late = new LastUsedRecorder(db);
    early.touch('api_keys', keyId);
    await sleep(20);
    late.touch('api_keys', keyId);
    late.touch('api_keys', randomUUID()); // unknown ids are ignored
    await late.flush();
    const latest = await lastUsed();
    expect(latest).not.toBeNull();
    await early.flush();
    expect((await lastUsed())?.getTime()).toBe(latest?.getTime());
    // A flush with nothing pending writes nothing; one after new use moves it forward.
    await early.flush();
    await sleep(5);
    early.touch('api_keys', keyId);
    await early.flush();
    expect((await lastUsed())?.getTime()).toBeGreaterThan(latest?.getTime() ?? 0);
  });
});
