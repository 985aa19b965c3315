// The embedded database's wire server answers the PostgreSQL protocol as PostgreSQL does (ADR 19).
// The transcripts below are PostgreSQL's: in the `postgres` project every one of them also runs
// against the real server, so an expectation here cannot drift from what PostgreSQL sends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  errorCodes,
  fe,
  firstColumns,
  shape,
  WireClient,
  type WireTarget,
} from '../../../../test/wire-protocol.ts';
import { PgliteWireServer } from './wire-server.ts';

const postgresUrl = process.env.ORGPLANE_TEST_DB === 'postgres' ? process.env.TEST_DATABASE_URL : undefined;

interface Target {
  name: string;
  wire: WireTarget;
  user: string;
  database: string;
  /** A real PostgreSQL releases a dead client's session asynchronously; the bridge at once. */
  sessionEndsAsync: boolean;
}

const dir = mkdtempSync(path.join(tmpdir(), 'orgplane-wire-'));
const socketPath = path.join(dir, '.s.PGSQL.5432');
let db: PGlite;
let server: PgliteWireServer;
const fatal: unknown[] = [];

const targets: Target[] = [
  {
    name: 'embedded (PGlite wire server)',
    wire: { path: socketPath },
    user: 'postgres',
    database: 'postgres',
    sessionEndsAsync: false,
  },
];
if (postgresUrl) {
  const url = new URL(postgresUrl);
  targets.push({
    name: 'PostgreSQL',
    wire: { host: url.hostname, port: Number(url.port || 5432) },
    user: decodeURIComponent(url.username) || 'postgres',
    database: url.pathname.slice(1) || 'postgres',
    sessionEndsAsync: true,
  });
}

beforeAll(async () => {
  db = await PGlite.create();
  server = new PgliteWireServer({
    db,
    path: socketPath,
    onFatal: (error) => fatal.push(error),
    clientWaitMs: 500,
  });
  await server.start();
});

afterAll(async () => {
  await server.stop();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const clients: WireClient[] = [];
const open = async (target: Target) => {
  const { client } = await WireClient.connect(target.wire, target.user, target.database);
  clients.push(client);
  return client;
};
// A test that fails halfway must not leave its client holding the embedded database's one session.
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end()));
});
const NUL = Buffer.from([0x61, 0x00, 0x62]); // "a\0b": PostgreSQL refuses it as text (22021)
/** PostgreSQL's answer to one good statement sent as pg sends it (Parse, Bind, Describe, Execute, Sync). */
const ANSWERED = ['1', '2', 'T', 'D', 'C', 'ZI'];

describe.each(targets)('the wire protocol on $name', (target) => {
  it('answers an error in Bind with one ReadyForQuery, at the Sync, and the next query gets its own answer', async () => {
    const client = await open(target);
    client.write(fe.extended('SELECT $1::text', [NUL]));
    const failed = await client.untilReady(1);
    expect(shape(failed)).toEqual(['1', 'E', 'ZI']);
    expect(errorCodes(failed)).toEqual(['22021']);
    client.write(fe.extended('SELECT $1::text AS next', ['mine']));
    const next = await client.untilReady(1);
    expect(shape(next)).toEqual(ANSWERED);
    expect(firstColumns(next)).toEqual(['mine']);
    await client.end();
  });

  it('answers errors in Parse and in Execute the same way', async () => {
    const client = await open(target);
    client.write(fe.extended('SELEKT 1'));
    const parse = await client.untilReady(1);
    expect(shape(parse)).toEqual(['E', 'ZI']);
    expect(errorCodes(parse)).toEqual(['42601']);
    // Not `1 / $1`: the planner folds a parameter's value in at Bind, and fails there.
    client.write(fe.extended('SELECT 1 / (g - 1) FROM generate_series(1, 1) AS g'));
    const execute = await client.untilReady(1);
    expect(shape(execute)).toEqual(['1', '2', 'T', 'E', 'ZI']);
    expect(errorCodes(execute)).toEqual(['22012']);
    await client.end();
  });

  it('keeps pipelined statements apart: a failed one between two good ones', async () => {
    const client = await open(target);
    client.write(
      Buffer.concat([
        fe.extended('SELECT $1::text', ['first']),
        fe.extended('SELECT $1::text', [NUL]),
        fe.extended('SELECT $1::text', ['third']),
      ]),
    );
    const answers = await client.untilReady(3);
    expect(shape(answers)).toEqual([...ANSWERED, '1', 'E', 'ZI', ...ANSWERED]);
    expect(firstColumns(answers)).toEqual(['first', 'third']);
    await client.end();
  });

  it('reports a failed transaction block until ROLLBACK', async () => {
    const client = await open(target);
    client.write(fe.query('BEGIN'));
    expect(shape(await client.untilReady(1))).toEqual(['C', 'ZT']);
    client.write(fe.extended('SELECT $1::text', [NUL]));
    expect(shape(await client.untilReady(1))).toEqual(['1', 'E', 'ZE']);
    client.write(fe.extended('SELECT 1'));
    const refused = await client.untilReady(1);
    expect(errorCodes(refused)).toEqual(['25P02']); // current transaction is aborted
    expect(shape(refused).at(-1)).toBe('ZE');
    client.write(fe.query('ROLLBACK'));
    expect(shape(await client.untilReady(1))).toEqual(['C', 'ZI']);
    await client.end();
  });

  it('answers a failing simple query once, after the statements before it', async () => {
    const client = await open(target);
    client.write(fe.query('SELECT 1; SELECT 1/0; SELECT 2'));
    const answer = await client.untilReady(1);
    expect(shape(answer)).toEqual(['T', 'D', 'C', 'E', 'ZI']);
    await client.end();
  });

  it('answers Flush without ReadyForQuery, also after an error', async () => {
    const client = await open(target);
    client.write(Buffer.concat([fe.parse('SELECT $1::text'), fe.bind([NUL]), fe.flush()]));
    const flushed = await client.untilReady(0, { settleMs: 200 });
    expect(shape(flushed)).toEqual(['1', 'E']);
    client.write(fe.sync());
    expect(shape(await client.untilReady(1))).toEqual(['ZI']);
    await client.end();
  });

  it('takes a large message that arrives in pieces', async () => {
    const client = await open(target);
    const large = 'x'.repeat(300_000);
    await client.writeInPieces(fe.extended('SELECT length($1::text)::text', [large]), 5, 10);
    const answer = await client.untilReady(1);
    expect(firstColumns(answer)).toEqual(['300000']);
    await client.end();
  });

  it('gives the next client a fresh session whatever the last one left behind', async () => {
    const first = await open(target);
    first.write(fe.query("BEGIN; SET LOCAL statement_timeout = '1s'; SELECT pg_advisory_lock(4242)"));
    await first.untilReady(1);
    first.write(fe.query("SET application_name = 'left-behind'; PREPARE stale AS SELECT 1"));
    await first.untilReady(1);
    // Dies in the middle of an extended-query exchange that failed, before its Sync.
    first.write(Buffer.concat([fe.parse('SELECT $1::text'), fe.bind([NUL])]));
    await new Promise((r) => setTimeout(r, 100));
    first.destroy();
    if (target.sessionEndsAsync) await new Promise((r) => setTimeout(r, 300));

    const second = await open(target);
    second.write(
      fe.extended("SELECT concat_ws(',', pg_try_advisory_lock(4242), current_setting('application_name'))"),
    );
    const answer = await second.untilReady(1);
    expect(shape(answer)).toEqual(ANSWERED);
    expect(firstColumns(answer)).toEqual(['t,']); // the lock is free, the setting back to ''
    second.write(fe.query('EXECUTE stale'));
    expect(errorCodes(await second.untilReady(1))).toEqual(['26000']); // no such prepared statement
    await second.end();
  });
});

describe('the embedded wire server', () => {
  it('gives every pg query its own rows when inputs PostgreSQL refuses come in between (issue 11)', async () => {
    const pool = new pg.Pool({ host: dir, port: 5432, user: 'postgres', database: 'postgres', max: 1 });
    await pool.query('CREATE TABLE notes (id serial PRIMARY KEY, body varchar(20) NOT NULL)');
    const refused = ['a\u0000b', 'x'.repeat(100_000), '\u0000'];
    for (let i = 0; i < 30; i++) {
      const bad = refused[i % refused.length]!;
      await expect(
        pool.query('INSERT INTO notes (body) VALUES ($1) RETURNING body', [bad]),
      ).rejects.toThrow();
      const marker = `note-${i}`;
      const { rows } = await pool.query('INSERT INTO notes (body) VALUES ($1) RETURNING body', [marker]);
      expect(rows).toEqual([{ body: marker }]);
    }
    expect((await pool.query('SELECT count(*)::int AS n FROM notes')).rows).toEqual([{ n: 30 }]);
    await pool.end();
  });

  it('serves one client at a time: the next waits for the session, and is refused if it is never free', async () => {
    const first = await open(targets[0]!);
    const second = WireClient.connect({ path: socketPath }, 'postgres', 'postgres');
    await new Promise((r) => setTimeout(r, 200));
    await first.end();
    const { client, startup } = await second;
    clients.push(client);
    expect(shape(startup).at(-1)).toBe('ZI');
    client.write(fe.query('SELECT 1'));
    expect(shape(await client.untilReady(1))).toEqual(['T', 'D', 'C', 'ZI']);
    // While it holds the session, a third one waits 500 ms (clientWaitMs), then hears why not.
    const third = await WireClient.connect({ path: socketPath }, 'postgres', 'postgres');
    expect(errorCodes(third.startup)).toEqual(['53300']);
    expect(third.client.closed).toBe(true);
  });

  it('shrugs off a waiting client that vanishes: the one it waited for goes on', async () => {
    const first = await open(targets[0]!);
    const { connect } = await import('node:net');
    const waiting = connect(socketPath);
    await new Promise((r) => waiting.once('connect', r));
    waiting.destroy(); // gone without a word, while it waits for the session
    await new Promise((r) => setTimeout(r, 100));
    first.write(fe.query('SELECT 1'));
    expect(shape(await first.untilReady(1))).toEqual(['T', 'D', 'C', 'ZI']);
    expect(fatal).toEqual([]);
  });

  it('refuses a message with an impossible length instead of waiting for it', async () => {
    const client = await open(targets[0]!);
    client.write(Buffer.from([0x51, 0, 0, 0, 2])); // a Query whose length is shorter than itself
    const answer = await client.untilReady(0, { settleMs: 200 });
    expect(errorCodes(answer)).toEqual(['08P01']);
    expect(client.closed).toBe(true);
    expect(fatal).toEqual([]);
  });
});
