// The opaque token format: prefix + 43 base62 random characters + a 6-character base62 CRC-32.
// The checksum must refuse any single-character change (a typo), truncation, extension and garbage
// before the database is touched, and the four prefixes must never be confused with one another.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  looksOpaque,
  mintToken,
  type OpaqueTokenKind,
  opaqueTokenKind,
  prefixOf,
  tokenStart,
} from './token-format.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KINDS: ReadonlyArray<readonly [OpaqueTokenKind, string]> = [
  ['api_key', 'fl_'],
  ['service_token', 'fl_hsl_'],
  ['deploy_token', 'fl_deploy_'],
  ['oauth_client_secret', 'fl_ocs_'],
];
const RANDOM_LENGTH = 43;
const CHECKSUM_LENGTH = 6;

const replaceAt = (text: string, index: number, char: string) =>
  text.slice(0, index) + char + text.slice(index + 1);

describe('mintToken', () => {
  it.each(KINDS)('mints a %s as %s + 43 + 6 base62 characters', (kind, prefix) => {
    expect(prefixOf(kind)).toBe(prefix);
    for (let i = 0; i < 50; i++) {
      const token = mintToken(kind);
      expect(token.startsWith(prefix)).toBe(true);
      expect(token).toHaveLength(prefix.length + RANDOM_LENGTH + CHECKSUM_LENGTH);
      expect(token.slice(prefix.length)).toMatch(/^[0-9A-Za-z]{49}$/);
      expect(opaqueTokenKind(token)).toBe(kind);
      expect(looksOpaque(token)).toBe(true);
    }
  });

  it('never repeats itself (10 000 tokens)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(mintToken('api_key'));
    expect(seen.size).toBe(10_000);
  });
});

describe('opaqueTokenKind', () => {
  it.each(KINDS)('refuses a %s with any single character of its body or checksum changed', (kind, prefix) => {
    fc.assert(
      fc.property(
        fc.constant(null).map(() => mintToken(kind)),
        fc.nat(),
        fc.constantFrom(...BASE62),
        (token, rawIndex, char) => {
          const index = prefix.length + (rawIndex % (RANDOM_LENGTH + CHECKSUM_LENGTH));
          fc.pre(token[index] !== char);
          expect(opaqueTokenKind(replaceAt(token, index, char))).toBeNull();
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it.each(KINDS)(
    'refuses a %s with any single character of its body replaced by a non-base62 one',
    (kind) => {
      fc.assert(
        fc.property(
          fc.constant(null).map(() => mintToken(kind)),
          fc.nat(),
          fc.constantFrom('_', '-', '+', '/', '=', ' ', '\n', '\0', 'é', 'ﬀ', '０'),
          (token, rawIndex, char) => {
            const index = prefixOf(kind).length + (rawIndex % (RANDOM_LENGTH + CHECKSUM_LENGTH));
            expect(opaqueTokenKind(replaceAt(token, index, char))).toBeNull();
          },
        ),
        { numRuns: 500 },
      );
    },
  );

  it('refuses every single-character substitution of one token, exhaustively', () => {
    for (const [kind, prefix] of KINDS) {
      const token = mintToken(kind);
      let tried = 0;
      for (let index = prefix.length; index < token.length; index++) {
        for (const char of BASE62) {
          if (char === token[index]) continue;
          tried++;
          const changed = replaceAt(token, index, char);
          if (opaqueTokenKind(changed) !== null) throw new Error(`accepted ${changed} (from ${token})`);
        }
      }
      expect(tried).toBe((RANDOM_LENGTH + CHECKSUM_LENGTH) * 61);
    }
  });

  it('refuses two adjacent characters swapped', () => {
    for (const [kind, prefix] of KINDS) {
      const token = mintToken(kind);
      for (let index = prefix.length; index < token.length - 1; index++) {
        const a = token[index] as string;
        const b = token[index + 1] as string;
        if (a === b) continue;
        const swapped = token.slice(0, index) + b + a + token.slice(index + 2);
        expect(opaqueTokenKind(swapped), swapped).toBeNull();
      }
    }
  });

  it.each(KINDS)('refuses a truncated or extended %s', (kind) => {
    const token = mintToken(kind);
    for (let cut = 1; cut < token.length; cut++) expect(opaqueTokenKind(token.slice(0, -cut))).toBeNull();
    for (const extra of ['0', 'a', 'Z', '00', token.slice(-CHECKSUM_LENGTH)]) {
      expect(opaqueTokenKind(token + extra)).toBeNull();
      expect(opaqueTokenKind(extra + token)).toBeNull();
    }
    // Surrounding whitespace is not trimmed for the caller.
    expect(opaqueTokenKind(` ${token}`)).toBeNull();
    expect(opaqueTokenKind(`${token}\n`)).toBeNull();
  });

  it.each(KINDS)('refuses a %s whose prefix or body changed case', (kind, prefix) => {
    const token = mintToken(kind);
    const body = token.slice(prefix.length);
    expect(opaqueTokenKind(prefix.toUpperCase() + body)).toBeNull();
    expect(opaqueTokenKind(`F${token.slice(1)}`)).toBeNull();
    // Lowercasing (or uppercasing) the whole token, as some forms and mail clients do.
    if (token.toLowerCase() !== token) expect(opaqueTokenKind(token.toLowerCase())).toBeNull();
    if (prefix.toUpperCase() + body.toUpperCase() !== token)
      expect(opaqueTokenKind(token.toUpperCase())).toBeNull();
  });

  it('refuses garbage, a bare prefix and other kinds of token', () => {
    for (const garbage of [
      '',
      'fl_',
      'fl_hsl_',
      'fl_deploy_',
      'fl_ocs_',
      'fl',
      'f',
      '_',
      'opr_abc',
      'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      `fl_${'0'.repeat(RANDOM_LENGTH + CHECKSUM_LENGTH)}`,
      `fl_${'A'.repeat(RANDOM_LENGTH + CHECKSUM_LENGTH)}`,
      `fl_${'_'.repeat(RANDOM_LENGTH + CHECKSUM_LENGTH)}`,
      `fl_hsl_${'z'.repeat(RANDOM_LENGTH + CHECKSUM_LENGTH)}`,
      `fl_deploy_${'9'.repeat(RANDOM_LENGTH + CHECKSUM_LENGTH)}`,
      `fl_ocs_${'a'.repeat(RANDOM_LENGTH + CHECKSUM_LENGTH)}`,
      `xx_${mintToken('api_key').slice(3)}`,
      'fl_'.repeat(20),
    ]) {
      expect(opaqueTokenKind(garbage), JSON.stringify(garbage)).toBeNull();
    }
  });

  it('refuses random strings (property)', () => {
    const bodyChar = fc.constantFrom(...BASE62);
    fc.assert(
      fc.property(
        fc.constantFrom('fl_', 'fl_hsl_', 'fl_deploy_', 'fl_ocs_', ''),
        fc.oneof(
          fc.string({ unit: bodyChar, minLength: 49, maxLength: 49 }),
          fc.string({ unit: bodyChar, maxLength: 80 }),
          fc.string({ maxLength: 80 }),
        ),
        (prefix, rest) => {
          // A random 49-character body passes the checksum with probability ≈ 2^-32: never in practice.
          expect(opaqueTokenKind(prefix + rest)).toBeNull();
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('does not mistake fl_hsl_ or fl_deploy_ tokens for fl_ API keys', () => {
    for (let i = 0; i < 200; i++) {
      const service = mintToken('service_token');
      const deploy = mintToken('deploy_token');
      expect(opaqueTokenKind(service)).toBe('service_token');
      expect(opaqueTokenKind(deploy)).toBe('deploy_token');
      // Their bodies under another prefix fail the checksum (it covers the prefix too).
      const serviceBody = service.slice('fl_hsl_'.length);
      const deployBody = deploy.slice('fl_deploy_'.length);
      expect(opaqueTokenKind(`fl_${serviceBody}`)).toBeNull();
      expect(opaqueTokenKind(`fl_${deployBody}`)).toBeNull();
      expect(opaqueTokenKind(`fl_deploy_${serviceBody}`)).toBeNull();
      expect(opaqueTokenKind(`fl_hsl_${deployBody}`)).toBeNull();
      // And an API key's body under a longer prefix is not a service or deploy token.
      const keyBody = mintToken('api_key').slice('fl_'.length);
      expect(opaqueTokenKind(`fl_hsl_${keyBody}`)).toBeNull();
      expect(opaqueTokenKind(`fl_deploy_${keyBody}`)).toBeNull();
    }
  });

  it('does not confuse fl_ocs_ OAuth client secrets with any other kind', () => {
    for (let i = 0; i < 200; i++) {
      const secret = mintToken('oauth_client_secret');
      expect(opaqueTokenKind(secret)).toBe('oauth_client_secret');
      const secretBody = secret.slice('fl_ocs_'.length);
      for (const prefix of ['fl_', 'fl_hsl_', 'fl_deploy_']) {
        expect(opaqueTokenKind(prefix + secretBody)).toBeNull();
      }
      for (const kind of ['api_key', 'service_token', 'deploy_token'] as const) {
        const other = mintToken(kind);
        expect(opaqueTokenKind(`fl_ocs_${other.slice(prefixOf(kind).length)}`)).toBeNull();
      }
    }
  });
});

describe('looksOpaque', () => {
  it('claims anything with the fl_ prefix, valid or not, and nothing else', () => {
    expect(looksOpaque('fl_')).toBe(true);
    expect(looksOpaque('fl_garbage')).toBe(true);
    expect(looksOpaque(mintToken('deploy_token'))).toBe(true);
    expect(looksOpaque('FL_abc')).toBe(false);
    expect(looksOpaque('opr_abc')).toBe(false);
    expect(looksOpaque('eyJhbGciOiJFUzI1NiJ9.e30.c2ln')).toBe(false);
  });
});

describe('tokenStart', () => {
  it.each(KINDS)('shows the %s prefix and the first 8 random characters', (kind, prefix) => {
    const token = mintToken(kind);
    const start = tokenStart(token);
    expect(start).toBe(token.slice(0, prefix.length + 8));
    expect(start).toHaveLength(prefix.length + 8);
    expect(start.slice(prefix.length)).toMatch(/^[0-9A-Za-z]{8}$/);
    // Never enough to use, never the checksum.
    expect(opaqueTokenKind(start)).toBeNull();
    expect(token.length - start.length).toBe(RANDOM_LENGTH - 8 + CHECKSUM_LENGTH);
  });

  it('shows the first 8 characters of anything else', () => {
    expect(tokenStart('abcdefghijkl')).toBe('abcdefgh');
    expect(tokenStart('abc')).toBe('abc');
  });
});
