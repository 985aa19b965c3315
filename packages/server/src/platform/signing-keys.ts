// ES256 signing keys for access tokens. Private keys live in the database sealed by the master key,
// so every node signs with the same key; exactly one key is active (a partial unique index), and
// retired keys stay published in the JWKS until every token they signed has expired.
import { createPrivateKey, type KeyObject, randomUUID, sign as signData } from 'node:crypto';
import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { sql } from 'kysely';
import type { Db, Executor } from '../db/schema.ts';
import { type MasterKey, MasterKeyMismatchError } from './envelope.ts';

const ALG = 'ES256';
const TOKEN_TYPE = 'at+jwt'; // RFC 9068 access-token JWT
/** An unknown kid makes a node reload keys (another node rotated), at most this often. */
const RELOAD_INTERVAL_MS = 5_000;

interface LoadedKey {
  kid: string;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export class SigningKeyring {
  private signer: { kid: string; privateKey: KeyObject; header: string } | null = null;
  private verifiers = new Map<string, LoadedKey>();
  private lastLoad = 0;

  constructor(
    private readonly db: Db,
    private readonly masterKey: MasterKey,
    private readonly issuer: string,
    /** Retired keys are published for this long (≥ the longest access-token lifetime). */
    private readonly retiredKeyGraceSeconds: number,
  ) {}

  /** Ensures one active key exists (creating it if this is the first start) and loads all keys. */
  async init(): Promise<void> {
    const active = await this.db
      .selectFrom('signing_keys')
      .select('kid')
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (!active) await this.insertActiveKey();
    await this.load();
  }

  /** Retires the active key and starts signing with a new one; old tokens keep verifying. */
  async rotate(): Promise<string> {
    // Retire and replace in one transaction: a crash between them must not leave no active key.
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('signing_keys')
        .set({ status: 'retired', retired_at: sql<Date>`now()` })
        .where('status', '=', 'active')
        .execute();
      await this.insertActiveKey(trx);
    });
    await this.load();
    // When two nodes rotate at once only one insert wins; report the key actually signing now.
    return this.signer?.kid ?? '';
  }

  /**
   * Re-reads the keys, so a rotation done by another node reaches this one: its signer moves to
   * the new key and its JWKS lists it. Called periodically by every node.
   */
  async refresh(): Promise<void> {
    await this.load();
  }

  /**
   * A compact JWS signed with node:crypto on the thread pool: the token exchange signs on every
   * call, and jose's WebCrypto path spent more on its own machinery (key and algorithm
   * normalisation, claim builders) than on the signature. The encoding is RFC 7515's (ES256
   * signatures in IEEE P1363 form); jose still does all verification.
   */
  async sign(claims: JWTPayload, subject: string, ttlSeconds: number): Promise<string> {
    if (!this.signer) throw new Error('signing keys are not loaded');
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      ...claims,
      iss: this.issuer,
      aud: this.issuer,
      sub: subject,
      jti: randomUUID(),
      iat: now,
      exp: now + ttlSeconds,
    };
    const signingInput = `${this.signer.header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    const key = { key: this.signer.privateKey, dsaEncoding: 'ieee-p1363' as const };
    // The callback form signs on libuv's thread pool: the event loop keeps serving meanwhile.
    const signature = await new Promise<Buffer>((resolve, reject) =>
      signData('sha256', Buffer.from(signingInput), key, (error, result) =>
        error ? reject(error) : resolve(result),
      ),
    );
    return `${signingInput}.${signature.toString('base64url')}`;
  }

  /** The verified payload, or null for any token this platform did not issue or that expired. */
  async verify(token: string): Promise<JWTPayload | null> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.keyFor(header.kid), {
        algorithms: [ALG],
        issuer: this.issuer,
        audience: this.issuer,
        typ: TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'jti'],
      });
      return payload;
    } catch {
      return null;
    }
  }

  /** The kid of the key signing now ('' before the keys are loaded). */
  get activeKid(): string {
    return this.signer?.kid ?? '';
  }

  /**
   * The signing key as a private JWK, for the OAuth server (oidc-provider signs its own tokens with
   * the same key, so one JWKS verifies both); `kid` tells callers when it changed.
   */
  activePrivateJwk(): JWK & { kid: string } {
    if (!this.signer) throw new Error('signing keys are not loaded');
    const jwk = this.signer.privateKey.export({ format: 'jwk' }) as JWK;
    return { ...jwk, kid: this.signer.kid, alg: ALG, use: 'sig' };
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.verifiers.values()].map((key) => key.publicJwk) };
  }

  private async keyFor(kid: string | undefined): Promise<CryptoKey> {
    if (!kid) throw new Error('token has no kid');
    let key = this.verifiers.get(kid);
    if (!key && Date.now() - this.lastLoad > RELOAD_INTERVAL_MS) {
      await this.load();
      key = this.verifiers.get(kid);
    }
    if (!key) throw new Error('unknown kid');
    return key.publicKey;
  }

  private async insertActiveKey(db: Executor = this.db): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' };
    const privateJwk = JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg: ALG });
    // Two nodes starting together both try; the partial unique index lets exactly one win.
    await db
      .insertInto('signing_keys')
      .values({
        kid,
        alg: ALG,
        public_jwk: JSON.stringify(publicJwk),
        private_jwk_sealed: this.masterKey.encrypt(Buffer.from(privateJwk), `signing-key:${kid}`),
        master_key_id: this.masterKey.id,
        status: 'active',
      })
      .onConflict((oc) => oc.column('status').where('status', '=', 'active').doNothing())
      .execute();
  }

  private async load(): Promise<void> {
    this.lastLoad = Date.now();
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('status', '=', 'active'),
          eb('retired_at', '>', sql<Date>`now() - make_interval(secs => ${this.retiredKeyGraceSeconds})`),
        ]),
      )
      .orderBy('created_at', 'desc')
      .execute();
    const verifiers = new Map<string, LoadedKey>();
    for (const row of rows) {
      const publicJwk = row.public_jwk as unknown as JWK;
      verifiers.set(row.kid, {
        kid: row.kid,
        publicJwk,
        publicKey: (await importJWK(publicJwk, ALG)) as CryptoKey,
      });
      if (row.status === 'active') {
        // Compared first: with another master key the decryption below fails only as "unable to
        // authenticate data", which tells an operator nothing.
        if (row.master_key_id !== this.masterKey.id)
          throw new MasterKeyMismatchError(row.master_key_id, this.masterKey.id);
        const privateJwk = JSON.parse(
          this.masterKey.decrypt(row.private_jwk_sealed, `signing-key:${row.kid}`).toString(),
        );
        const header = Buffer.from(JSON.stringify({ alg: ALG, kid: row.kid, typ: TOKEN_TYPE })).toString(
          'base64url',
        );
        this.signer = {
          kid: row.kid,
          privateKey: createPrivateKey({ key: privateJwk, format: 'jwk' }),
          header,
        };
      }
    }
    this.verifiers = verifiers;
  }
}
