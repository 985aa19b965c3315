import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMasterKey, MasterKey, open, parseMasterKey, seal } from './envelope.ts';

const key = randomBytes(32);
const plaintext = Buffer.from('sk_live_the tenant secret ✓', 'utf8');

/** Flips one bit of one dot-separated part (decoded, so base64 padding bits cannot hide it). */
function tamper(sealed: string, part: number, byte = 0): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[byte]! ^= 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('seal / open', () => {
  it('round-trips, with a fresh IV every time', () => {
    const first = seal(key, plaintext, 'org:1/secret:2');
    const second = seal(key, plaintext, 'org:1/secret:2');
    expect(first).not.toBe(second);
    expect(first).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]*$/);
    expect(first).not.toContain(plaintext.toString('base64url'));
    expect(open(key, first, 'org:1/secret:2')).toEqual(plaintext);
    expect(open(key, second, 'org:1/secret:2')).toEqual(plaintext);
  });

  it('round-trips an empty and a large plaintext', () => {
    expect(open(key, seal(key, Buffer.alloc(0), 'a'), 'a')).toEqual(Buffer.alloc(0));
    const large = randomBytes(100_000);
    expect(open(key, seal(key, large, 'a'), 'a')).toEqual(large);
  });

  it('throws on tampered ciphertext, tag or IV', () => {
    const sealed = seal(key, plaintext, 'aad');
    expect(() => open(key, tamper(sealed, 3), 'aad')).toThrow();
    expect(() => open(key, tamper(sealed, 3, 10), 'aad')).toThrow();
    expect(() => open(key, tamper(sealed, 2), 'aad')).toThrow();
    expect(() => open(key, tamper(sealed, 1), 'aad')).toThrow();
  });

  it('throws on a truncated ciphertext', () => {
    const sealed = seal(key, plaintext, 'aad');
    const [v, iv, tag, body] = sealed.split('.');
    const shortBody = Buffer.from(body!, 'base64url').subarray(1).toString('base64url');
    expect(() => open(key, [v, iv, tag, shortBody].join('.'), 'aad')).toThrow();
  });

  it('refuses a truncated authentication tag (GCM would otherwise check only its first bytes)', () => {
    const sealed = seal(key, plaintext, 'aad');
    const [v, iv, tag, body] = sealed.split('.');
    for (const length of [4, 8, 12, 15]) {
      const shortTag = Buffer.from(tag!, 'base64url').subarray(0, length).toString('base64url');
      expect(() => open(key, [v, iv, shortTag, body].join('.'), 'aad')).toThrow();
    }
  });

  it('throws when the AAD differs (a ciphertext moved to another row or org)', () => {
    const sealed = seal(key, plaintext, 'org:1/secret:2');
    expect(() => open(key, sealed, 'org:1/secret:3')).toThrow();
    expect(() => open(key, sealed, 'org:2/secret:2')).toThrow();
    expect(() => open(key, sealed, '')).toThrow();
  });

  it('throws with the wrong key', () => {
    const sealed = seal(key, plaintext, 'aad');
    expect(() => open(randomBytes(32), sealed, 'aad')).toThrow();
  });

  it('refuses unknown formats', () => {
    const sealed = seal(key, plaintext, 'aad');
    expect(() => open(key, sealed.replace(/^v1\./, 'v2.'), 'aad')).toThrow(/unrecognised/);
    expect(() => open(key, 'garbage', 'aad')).toThrow(/unrecognised/);
    expect(() => open(key, sealed.split('.').slice(0, 3).join('.'), 'aad')).toThrow(/unrecognised/);
  });
});

describe('MasterKey', () => {
  it('encrypts and decrypts through the same AES-GCM envelope', () => {
    const master = new MasterKey(key);
    const sealed = master.encrypt(plaintext, 'signing-key:k1');
    expect(master.decrypt(sealed, 'signing-key:k1')).toEqual(plaintext);
    expect(open(key, sealed, 'signing-key:k1')).toEqual(plaintext);
    expect(() => master.decrypt(sealed, 'signing-key:k2')).toThrow();
  });

  it('has a stable 16-hex-character id that differs between keys', () => {
    expect(new MasterKey(key).id).toMatch(/^[0-9a-f]{16}$/);
    expect(new MasterKey(Buffer.from(key)).id).toBe(new MasterKey(key).id);
    expect(new MasterKey(randomBytes(32)).id).not.toBe(new MasterKey(key).id);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new MasterKey(randomBytes(16))).toThrow(/32 bytes/);
    expect(() => new MasterKey(randomBytes(33))).toThrow(/32 bytes/);
  });
});

describe('parseMasterKey', () => {
  const expectSameKey = (parsed: MasterKey) => {
    expect(parsed.id).toBe(new MasterKey(key).id);
    expect(open(key, parsed.encrypt(plaintext, 'x'), 'x')).toEqual(plaintext);
  };

  it('accepts base64 of 32 bytes (padded, unpadded, base64url, surrounding whitespace)', () => {
    expectSameKey(parseMasterKey(key.toString('base64')));
    expectSameKey(parseMasterKey(key.toString('base64').replace(/=+$/, '')));
    expectSameKey(parseMasterKey(key.toString('base64url')));
    expectSameKey(parseMasterKey(`  ${key.toString('base64')}\n`));
  });

  it('accepts hex of 32 bytes in either case', () => {
    expectSameKey(parseMasterKey(key.toString('hex')));
    expectSameKey(parseMasterKey(key.toString('hex').toUpperCase()));
    expectSameKey(parseMasterKey(`${key.toString('hex')}\n`));
  });

  it.each([
    ['base64 of 16 bytes', randomBytes(16).toString('base64')],
    ['base64 of 31 bytes', randomBytes(31).toString('base64')],
    ['base64 of 33 bytes', randomBytes(33).toString('base64')],
    ['base64 of 64 bytes', randomBytes(64).toString('base64')],
    ['hex of 31 bytes', randomBytes(31).toString('hex')],
    ['hex of 16 bytes', randomBytes(16).toString('hex')],
    ['a passphrase', 'correct horse battery staple'],
    ['an empty string', ''],
    ['whitespace', '   \n'],
  ])('rejects %s', (_label, raw) => {
    expect(() => parseMasterKey(raw)).toThrow(/ORGPLANE_MASTER_KEY must be 32 bytes/);
  });
});

describe('loadMasterKey', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'orgplane-envelope-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('generates master.key once with mode 0600 and returns the same key afterwards', () => {
    const dataDir = path.join(root, 'nested', 'data');
    expect(existsSync(dataDir)).toBe(false);
    const first = loadMasterKey(null, dataDir);
    const file = path.join(dataDir, 'master.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const content = readFileSync(file, 'utf8');
    expect(Buffer.from(content.trim(), 'base64')).toHaveLength(32);

    const second = loadMasterKey(null, dataDir);
    expect(second.id).toBe(first.id);
    expect(readFileSync(file, 'utf8')).toBe(content);
    expect(second.decrypt(first.encrypt(plaintext, 'aad'), 'aad')).toEqual(plaintext);
  });

  it('generates a different key for another data directory', () => {
    const a = loadMasterKey(null, path.join(root, 'a'));
    const b = loadMasterKey(null, path.join(root, 'b'));
    expect(a.id).not.toBe(b.id);
  });

  it('uses the configured key and writes no file', () => {
    const dataDir = path.join(root, 'configured');
    const loaded = loadMasterKey(key.toString('base64'), dataDir);
    expect(loaded.id).toBe(new MasterKey(key).id);
    expect(existsSync(path.join(dataDir, 'master.key'))).toBe(false);
  });

  it('refuses a corrupted key file instead of replacing it', () => {
    const dataDir = path.join(root, 'corrupt');
    loadMasterKey(null, dataDir);
    const file = path.join(dataDir, 'master.key');
    rmSync(file);
    // A different, broken file in its place must not be silently overwritten.
    writeFileSync(file, 'not a key\n', { mode: 0o600 });
    expect(() => loadMasterKey(null, dataDir)).toThrow(/32 bytes/);
    expect(readFileSync(file, 'utf8')).toBe('not a key\n');
  });
});
