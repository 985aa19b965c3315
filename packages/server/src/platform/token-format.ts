// Opaque credentials (seed 003 prefixes): `fl_` API keys, `fl_hsl_` hosted-service tokens,
// `fl_deploy_` deploy tokens; and `fl_ocs_` OAuth client secrets (never an API credential). Each is
// prefix + base62 of 32 random bytes + a 6-character base62 CRC-32 of everything before it. The
// checksum is not a secret: it lets a typo, a truncated paste or random garbage be refused without
// touching the database (and lets secret scanners recognise ours).
import { crc32 } from 'node:zlib';
import { generateSecret } from './crypto.ts';

export type OpaqueTokenKind = 'api_key' | 'service_token' | 'deploy_token' | 'oauth_client_secret';

// Longest prefix first: `fl_hsl_…`, `fl_ocs_…` and `fl_deploy_…` also start with `fl_`.
const PREFIXES: ReadonlyArray<readonly [OpaqueTokenKind, string]> = [
  ['deploy_token', 'fl_deploy_'],
  ['service_token', 'fl_hsl_'],
  ['oauth_client_secret', 'fl_ocs_'],
  ['api_key', 'fl_'],
];
const RANDOM_LENGTH = 43; // base62 of 32 bytes
const CHECKSUM_LENGTH = 6; // base62 of a 32-bit CRC
const BODY = /^[0-9A-Za-z]+$/;

export function prefixOf(kind: OpaqueTokenKind): string {
  return (PREFIXES.find(([k]) => k === kind) as readonly [OpaqueTokenKind, string])[1];
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** base62 of the CRC-32, 6 characters; plain number arithmetic (a CRC fits a double exactly). */
function checksum(text: string): string {
  let value = crc32(text) >>> 0;
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** A new token of this kind (≥ 256 random bits from the CSPRNG). */
export function mintToken(kind: OpaqueTokenKind): string {
  const unsigned = generateSecret(prefixOf(kind));
  return unsigned + checksum(unsigned);
}

/**
 * The kind of a well-formed token whose checksum matches, else null. Does not say the token exists:
 * only that it is worth looking up.
 */
export function opaqueTokenKind(token: string): OpaqueTokenKind | null {
  for (const [kind, prefix] of PREFIXES) {
    if (!token.startsWith(prefix)) continue;
    const rest = token.slice(prefix.length);
    if (rest.length !== RANDOM_LENGTH + CHECKSUM_LENGTH || !BODY.test(rest)) return null;
    const unsigned = token.slice(0, token.length - CHECKSUM_LENGTH);
    return checksum(unsigned) === token.slice(-CHECKSUM_LENGTH) ? kind : null;
  }
  return null;
}

/**
 * The kind a token's prefix and length claim, checking neither its characters nor its checksum:
 * enough to look it up among the tokens this node has already verified, where a hit (by SHA-256)
 * proves it genuine. Anything else must go through `opaqueTokenKind` before a database lookup.
 */
export function claimedTokenKind(token: string): OpaqueTokenKind | null {
  for (const [kind, prefix] of PREFIXES) {
    if (token.startsWith(prefix))
      return token.length === prefix.length + RANDOM_LENGTH + CHECKSUM_LENGTH ? kind : null;
  }
  return null;
}

/** Whether the string claims to be one of our opaque tokens (has a known prefix), valid or not. */
export function looksOpaque(token: string): boolean {
  return token.startsWith('fl_');
}

/** What lists show so people can tell tokens apart: the prefix and the first 8 random characters. */
export function tokenStart(token: string): string {
  for (const [, prefix] of PREFIXES) {
    if (token.startsWith(prefix)) return token.slice(0, prefix.length + 8);
  }
  return token.slice(0, 8);
}
