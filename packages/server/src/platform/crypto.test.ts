import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base62, generateSecret, safeEqual, sha256Hex } from './crypto.ts';

const BASE62 = /^[0-9A-Za-z]+$/;

function fromBase62(text: string): bigint {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let value = 0n;
  for (const char of text) value = value * 62n + BigInt(alphabet.indexOf(char));
  return value;
}

describe('generateSecret', () => {
  it('is the prefix followed by 43 base62 characters for the default 32 bytes', () => {
    const secret = generateSecret('op_sk_');
    expect(secret.startsWith('op_sk_')).toBe(true);
    const body = secret.slice('op_sk_'.length);
    expect(body).toHaveLength(43);
    expect(body).toMatch(BASE62);
  });

  it('always has the same length, whatever the random bytes', () => {
    const lengths = new Set(Array.from({ length: 500 }, () => generateSecret('x_').length));
    expect([...lengths]).toEqual([2 + 43]);
  });

  it('never repeats itself', () => {
    const secrets = new Set(Array.from({ length: 2000 }, () => generateSecret('')));
    expect(secrets.size).toBe(2000);
  });

  it('uses every base62 character over many secrets (no biased alphabet)', () => {
    const seen = new Set(
      Array.from({ length: 200 }, () => generateSecret(''))
        .join('')
        .split(''),
    );
    expect(seen.size).toBe(62);
  });

  it('carries more bytes when asked, still fixed width', () => {
    const secret = generateSecret('p_', 64);
    expect(secret.slice(2)).toHaveLength(Math.ceil(512 / Math.log2(62)));
    expect(secret.slice(2)).toMatch(BASE62);
  });

  it('refuses fewer than 32 random bytes', () => {
    expect(() => generateSecret('p_', 31)).toThrow(RangeError);
    expect(() => generateSecret('p_', 16)).toThrow(/at least 32/);
    expect(() => generateSecret('p_', 0)).toThrow(RangeError);
  });
});

describe('base62', () => {
  it('pads to a fixed width: 32 zero bytes and 32 0xff bytes both give 43 characters', () => {
    expect(base62(new Uint8Array(32))).toBe('0'.repeat(43));
    const max = base62(new Uint8Array(32).fill(0xff));
    expect(max).toHaveLength(43);
    expect(fromBase62(max)).toBe(2n ** 256n - 1n);
  });

  it('encodes the number the bytes spell, big-endian', () => {
    expect(base62(Uint8Array.of(0))).toBe('00');
    expect(base62(Uint8Array.of(61))).toBe('0z');
    expect(base62(Uint8Array.of(62))).toBe('10');
    expect(base62(Uint8Array.of(1, 0))).toBe('048'); // 256 = 4·62 + 8
  });

  it('round-trips random values', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = new Uint8Array(32).map(() => Math.floor(Math.random() * 256));
      const encoded = base62(bytes);
      expect(encoded).toHaveLength(43);
      expect(fromBase62(encoded)).toBe(BigInt(`0x${Buffer.from(bytes).toString('hex')}`));
    }
  });

  it('keeps leading zero bytes as leading zeros', () => {
    const bytes = new Uint8Array(32);
    bytes[31] = 1;
    expect(base62(bytes)).toBe(`${'0'.repeat(42)}1`);
  });
});

describe('sha256Hex', () => {
  it('matches the known vector and node:crypto', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const text = 'ünïcødé ✓ 🔑';
    expect(sha256Hex(text)).toBe(createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex'));
  });

  it('is 64 lowercase hex characters', () => {
    expect(sha256Hex(generateSecret('s_'))).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('safeEqual', () => {
  it('is true only for identical strings', () => {
    const secret = generateSecret('k_');
    expect(safeEqual(secret, `${secret}`)).toBe(true);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'ABC')).toBe(false);
  });

  it('is false for different lengths without throwing', () => {
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('abcd', 'abc')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
  });

  it('compares UTF-8 bytes, not UTF-16 units', () => {
    expect(safeEqual('é', 'é')).toBe(true);
    expect(safeEqual('é', 'e\u0301')).toBe(false);
    // Same UTF-16 length, different UTF-8 length.
    expect(safeEqual('ab', 'é\u00e9')).toBe(false);
  });
});
