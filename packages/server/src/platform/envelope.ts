// Envelope encryption (AES-256-GCM). The master key wraps per-org data keys and the platform's
// signing keys; data keys encrypt tenant secrets. Every ciphertext is bound to where it lives by
// its additional authenticated data (AAD), so a ciphertext copied into another row or org fails.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const VERSION = 'v1';

export class MasterKey {
  /** Short fingerprint stored beside wrapped keys, so a later rotation knows which key wrapped them. */
  readonly id: string;
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the master key must be exactly 32 bytes');
    this.id = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }
  encrypt(plaintext: Buffer, aad: string): string {
    return seal(this.key, plaintext, aad);
  }
  decrypt(sealed: string, aad: string): Buffer {
    return open(this.key, sealed, aad);
  }
  /** A key for one purpose (e.g. signing cookies), derived with HKDF so the master key itself never leaves. */
  derive(purpose: string, length = 32): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `orgplane:${purpose}`, length));
  }
}

/**
 * The data was sealed by another master key than the one configured: nothing it wrapped can be
 * opened (AES-GCM would only say "unable to authenticate data"), so the start stops here, naming
 * both fingerprints (MasterKey.id, which is stored beside everything the key wraps).
 */
export class MasterKeyMismatchError extends Error {
  constructor(
    readonly sealedWith: string,
    readonly configured: string,
  ) {
    super(`the data was sealed with master key ${sealedWith}, not with the configured key ${configured}`);
  }
}

export function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    body.toString('base64url'),
  ].join('.');
}

export function open(key: Buffer, sealed: string, aad: string): Buffer {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== VERSION || !iv || !tag || body === undefined)
    throw new Error('unrecognised ciphertext format');
  // A fixed tag length: otherwise GCM accepts a truncated tag (down to 4 bytes), which is easier to forge.
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
    authTagLength: 16,
  });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
}

export function parseMasterKey(raw: string): MasterKey {
  const text = raw.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (bytes.length !== 32) {
    throw new Error(
      'ORGPLANE_MASTER_KEY must be 32 bytes encoded as base64 or hex (`openssl rand -base64 32`)',
    );
  }
  return new MasterKey(bytes);
}

/**
 * The configured master key, or — in embedded mode — one generated once into the data directory
 * with mode 0600 and reused on every later start.
 */
export function loadMasterKey(configured: string | null, dataDir: string): MasterKey {
  if (configured) return parseMasterKey(configured);
  const file = path.join(dataDir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return parseMasterKey(readFileSync(file, 'utf8'));
}
