import { randomBytes } from 'node:crypto';
import {
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { migratedTestDatabase, onPostgres, type TestDatabase } from '../../../../test/database.ts';
import type { Db } from '../db/schema.ts';
import { MasterKey, MasterKeyMismatchError } from './envelope.ts';
import { SigningKeyring } from './signing-keys.ts';

const ISSUER = 'https://orgplane.test';
const GRACE = 7200;
const masterKey = new MasterKey(randomBytes(32));

let test: TestDatabase;
/** Two handles on one database: on PostgreSQL two pools (like two nodes), on PGlite the same one. */
let db: Db;
let otherDb: Db;

beforeAll(async () => {
  const opened = await migratedTestDatabase();
  test = opened.test;
  db = opened.database.db;
  otherDb = onPostgres ? (await test.open({ poolSize: 4 })).db : db;
});
afterAll(async () => {
  await test?.drop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const keyring = (on: Db = db, options: { issuer?: string; grace?: number; master?: MasterKey } = {}) =>
  new SigningKeyring(on, options.master ?? masterKey, options.issuer ?? ISSUER, options.grace ?? GRACE);

async function initialised(on: Db = db, options: Parameters<typeof keyring>[1] = {}) {
  const ring = keyring(on, options);
  await ring.init();
  return ring;
}

const activeKeys = () => db.selectFrom('signing_keys').selectAll().where('status', '=', 'active').execute();
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

/** The active private key, unsealed, to forge tokens that differ from real ones in one way only. */
async function activePrivateKey() {
  const [row] = await activeKeys();
  const jwk = JSON.parse(
    masterKey.decrypt(row!.private_jwk_sealed, `signing-key:${row!.kid}`).toString(),
  ) as JWK;
  return { kid: row!.kid, key: await importJWK(jwk, 'ES256') };
}

function forged(claims: JWTPayload = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: `j-${randomBytes(4).toString('hex')}`, ...claims })
    .setIssuer(ISSUER)
    .setAudience(ISSUER)
    .setSubject('user-1')
    .setIssuedAt(now)
    .setExpirationTime(now + 60);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('init', () => {
  it('creates one active key on an empty database, and later inits reuse it', async () => {
    const ring = await initialised();
    const keys = await activeKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      alg: 'ES256',
      status: 'active',
      master_key_id: masterKey.id,
      retired_at: null,
    });
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([keys[0]!.kid]);

    const again = await initialised(otherDb);
    expect(await activeKeys()).toHaveLength(1);
    expect(kidOf(await again.sign({}, 'u', 60))).toBe(keys[0]!.kid);
    expect(await db.selectFrom('signing_keys').select('kid').execute()).toHaveLength(1);
  });

  it('ends with exactly one active key when keyrings on several nodes initialise at once', async () => {
    await db.deleteFrom('signing_keys').execute();
    const rings = [keyring(db), keyring(otherDb), keyring(db), keyring(otherDb)];
    // Hold every keyring at the insert until all four have seen "no active key": the worst case.
    const prototype = SigningKeyring.prototype as unknown as { insertActiveKey(): Promise<string> };
    const insert = prototype.insertActiveKey;
    let arrived = 0;
    let allArrived!: () => void;
    const gate = new Promise<void>((resolve) => {
      allArrived = resolve;
    });
    vi.spyOn(prototype, 'insertActiveKey').mockImplementation(async function (this: unknown) {
      if (++arrived === rings.length) allArrived();
      await gate;
      return insert.call(this);
    });
    await Promise.all(rings.map((ring) => ring.init()));
    expect(arrived).toBe(rings.length);
    const keys = await activeKeys();
    expect(keys).toHaveLength(1);
    expect(await db.selectFrom('signing_keys').select('kid').execute()).toHaveLength(1);
    // Every node signs with the winner's key, and each accepts the others' tokens.
    const tokens = await Promise.all(rings.map((ring, i) => ring.sign({}, `user-${i}`, 60)));
    for (const token of tokens) {
      expect(kidOf(token)).toBe(keys[0]!.kid);
      for (const ring of rings) expect(await ring.verify(token)).not.toBeNull();
    }
  });

  it('stores the private key sealed by the master key and publishes only the public half', async () => {
    const ring = await initialised();
    const [row] = await activeKeys();
    expect(row!.private_jwk_sealed).toMatch(/^v1\./);
    const privateJwk = JSON.parse(
      masterKey.decrypt(row!.private_jwk_sealed, `signing-key:${row!.kid}`).toString(),
    );
    expect(privateJwk.d).toBeTruthy();
    expect(row!.private_jwk_sealed).not.toContain(privateJwk.d);
    for (const key of ring.jwks().keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
  });

  it('fails with a different master key, naming both fingerprints (the sealed key cannot be opened)', async () => {
    const other = new MasterKey(randomBytes(32));
    const failure = keyring(db, { master: other }).init();
    await expect(failure).rejects.toBeInstanceOf(MasterKeyMismatchError);
    await expect(failure).rejects.toMatchObject({ configured: other.id, sealedWith: masterKey.id });
  });
});

describe('sign / verify', () => {
  it('issues an ES256 at+jwt with the standard claims that verifies', async () => {
    const ring = await initialised();
    const before = Math.floor(Date.now() / 1000);
    const token = await ring.sign({ org_id: 'org-1', scope: 'read:org' }, 'user-1', 600);
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: 'ES256', kid: (await activeKeys())[0]!.kid, typ: 'at+jwt' });
    const payload = await ring.verify(token);
    expect(payload).toMatchObject({
      org_id: 'org-1',
      scope: 'read:org',
      sub: 'user-1',
      iss: ISSUER,
      aud: ISSUER,
    });
    expect(payload!.jti).toEqual(expect.any(String));
    expect(payload!.exp! - payload!.iat!).toBe(600);
    expect(payload!.iat).toBeGreaterThanOrEqual(before);
    // Another node verifies it too.
    expect(await (await initialised(otherDb)).verify(token)).toMatchObject({ sub: 'user-1' });
  });

  it('gives every token its own jti', async () => {
    const ring = await initialised();
    const tokens = await Promise.all([1, 2, 3].map(() => ring.sign({}, 'u', 60)));
    expect(new Set(tokens.map((t) => decodeJwt(t).jti)).size).toBe(3);
  });

  it('refuses to sign before init', async () => {
    await expect(keyring().sign({}, 'u', 60)).rejects.toThrow(/not loaded/);
  });

  it('rejects expired tokens', async () => {
    const ring = await initialised();
    expect(await ring.verify(await ring.sign({}, 'u', -10))).toBeNull();
    expect(await ring.verify(await ring.sign({}, 'u', 0))).toBeNull();
    const { kid, key } = await activePrivateKey();
    const now = Math.floor(Date.now() / 1000);
    const expired = await forged()
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(key);
    expect(await ring.verify(expired)).toBeNull();
  });

  it('rejects a token signed by a foreign key, even under a known kid', async () => {
    const ring = await initialised();
    const { kid } = await activePrivateKey();
    const foreign = await generateKeyPair('ES256');
    expect(
      await ring.verify(
        await forged().setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(foreign.privateKey),
      ),
    ).toBeNull();
    expect(
      await ring.verify(
        await forged()
          .setProtectedHeader({ alg: 'ES256', kid: 'unknown', typ: 'at+jwt' })
          .sign(foreign.privateKey),
      ),
    ).toBeNull();
  });

  it('rejects alg none and an HS256 token keyed with the public JWK', async () => {
    const ring = await initialised();
    const { kid } = await activePrivateKey();
    const real = await ring.sign({}, 'user-1', 60);
    const payload = decodeJwt(real);
    expect(await ring.verify(`${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${b64(payload)}.`)).toBeNull();
    expect(
      await ring.verify(`${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${b64(payload)}.${real.split('.')[2]}`),
    ).toBeNull();
    const publicJwk = ring.jwks().keys.find((k) => k.kid === kid)!;
    const hmac = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' })
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    expect(await ring.verify(hmac)).toBeNull();
  });

  it('rejects a real signature over a changed payload', async () => {
    const ring = await initialised();
    const [header, , signature] = (await ring.sign({ org_id: 'org-1' }, 'user-1', 60)).split('.');
    const payload = decodeJwt(await ring.sign({ org_id: 'org-1' }, 'user-1', 60));
    expect(await ring.verify(`${header}.${b64({ ...payload, org_id: 'org-2' })}.${signature}`)).toBeNull();
  });

  it('checks issuer, audience, typ and the required claims', async () => {
    const ring = await initialised();
    const { kid, key } = await activePrivateKey();
    const header = { alg: 'ES256', kid, typ: 'at+jwt' };
    expect(await ring.verify(await forged().setProtectedHeader(header).sign(key))).not.toBeNull();
    expect(
      await ring.verify(
        await forged()
          .setProtectedHeader({ ...header, typ: 'JWT' })
          .sign(key),
      ),
    ).toBeNull();
    expect(await ring.verify(await forged().setProtectedHeader({ alg: 'ES256', kid }).sign(key))).toBeNull();
    expect(
      await ring.verify(await forged().setProtectedHeader(header).setIssuer('https://evil.test').sign(key)),
    ).toBeNull();
    expect(
      await ring.verify(
        await forged().setProtectedHeader(header).setAudience('https://other.test').sign(key),
      ),
    ).toBeNull();
    expect(
      await ring.verify(await forged({ jti: undefined }).setProtectedHeader(header).sign(key)),
    ).toBeNull();
    const noSubject = new SignJWT({ jti: 'x' })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setIssuedAt()
      .setExpirationTime('1m');
    expect(await ring.verify(await noSubject.setProtectedHeader(header).sign(key))).toBeNull();
    const noExpiry = new SignJWT({ jti: 'x' })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setSubject('u')
      .setIssuedAt();
    expect(await ring.verify(await noExpiry.setProtectedHeader(header).sign(key))).toBeNull();
    // A keyring for another issuer on the same keys refuses our tokens, and we refuse its.
    const elsewhere = await initialised(db, { issuer: 'https://elsewhere.test' });
    expect(await elsewhere.verify(await ring.sign({}, 'u', 60))).toBeNull();
    expect(await ring.verify(await elsewhere.sign({}, 'u', 60))).toBeNull();
  });

  it('rejects garbage', async () => {
    const ring = await initialised();
    for (const token of ['', 'abc', 'a.b.c', 'a.b', `${b64({ alg: 'ES256' })}.${b64({})}.`]) {
      expect(await ring.verify(token)).toBeNull();
    }
  });
});

describe('rotate', () => {
  it('signs with a new kid while old tokens keep verifying and the JWKS lists both', async () => {
    const node = await initialised();
    const oldKid = (await activeKeys())[0]!.kid;
    const oldToken = await node.sign({}, 'user-1', 600);

    const newKid = await node.rotate();
    expect(newKid).not.toBe(oldKid);
    const active = await activeKeys();
    expect(active.map((k) => k.kid)).toEqual([newKid]);
    const old = await db
      .selectFrom('signing_keys')
      .selectAll()
      .where('kid', '=', oldKid)
      .executeTakeFirstOrThrow();
    expect(old.status).toBe('retired');
    expect(old.retired_at).not.toBeNull();

    const newToken = await node.sign({}, 'user-1', 600);
    expect(kidOf(newToken)).toBe(newKid);
    expect(await node.verify(oldToken)).not.toBeNull();
    expect(await node.verify(newToken)).not.toBeNull();
    const kids = node.jwks().keys.map((k) => k.kid);
    expect(kids).toContain(oldKid);
    expect(kids).toContain(newKid);

    // A node started after the rotation publishes both as well and accepts both tokens.
    const fresh = await initialised(otherDb);
    expect(fresh.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(await fresh.verify(oldToken)).not.toBeNull();
    expect(kidOf(await fresh.sign({}, 'u', 60))).toBe(newKid);
  });

  it('lets a node that loaded earlier pick up another node’s new key on an unknown kid', async () => {
    const rotating = await initialised();
    const other = await initialised(otherDb);
    const newKid = await rotating.rotate();
    const newToken = await rotating.sign({}, 'user-1', 600);
    // Reloads are rate-limited; once the interval has passed, the unknown kid triggers one.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 6_000);
    expect(await other.verify(newToken)).toMatchObject({ sub: 'user-1' });
    expect(other.jwks().keys.map((k) => k.kid)).toContain(newKid);
    expect(kidOf(await other.sign({}, 'u', 60))).toBe(newKid);
  });

  it('refresh() moves a node that loaded earlier to the key another node rotated to', async () => {
    const rotating = await initialised();
    const other = await initialised(otherDb);
    const newKid = await rotating.rotate();
    expect(kidOf(await other.sign({}, 'u', 60))).not.toBe(newKid);
    await other.refresh();
    expect(kidOf(await other.sign({}, 'u', 60))).toBe(newKid);
    expect(other.jwks().keys.map((k) => k.kid)).toContain(newKid);
  });

  it('stops publishing and accepting retired keys after the grace period', async () => {
    const node = await initialised();
    const oldToken = await node.sign({}, 'user-1', 600);
    const oldKid = kidOf(oldToken);
    await node.rotate();
    const strict = await initialised(db, { grace: 0 });
    expect(strict.jwks().keys.map((k) => k.kid)).not.toContain(oldKid);
    expect(strict.jwks().keys).toHaveLength(1);
    expect(await strict.verify(oldToken)).toBeNull();
    expect(await node.verify(oldToken)).not.toBeNull(); // within the default grace
  });
});
