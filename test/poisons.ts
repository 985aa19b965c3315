// Request values that break things and the contract every answer must keep, shared by the in-process
// fuzz suite (fuzz.test.ts) and the process-level probe (http-probe.test.ts).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { TestResponse } from './harness.ts';

// ── request values ──────────────────────────────────────────────────────────────────────────────

/** JSON text inserted verbatim into a body (deep nesting, huge strings, malformed JSON). */
export class RawJson {
  constructor(readonly text: string) {}
  [fc.toStringMethod]() {
    const t = this.text;
    return t.length > 120 ? `RawJson(${JSON.stringify(t.slice(0, 60))}… ${t.length} chars)` : `RawJson(${t})`;
  }
}

/** The fixture's real id for a name (org_id, workspace_id…), resolved when the request is sent. */
export class RealId {
  constructor(readonly name: string) {}
  [fc.toStringMethod]() {
    return `RealId(${this.name})`;
  }
}

export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
export const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
export const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
/** Percent-encodes every UTF-8 byte that is not unreserved; never throws (lone surrogates included). */
export const encode = (text: string) =>
  [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

/** Serialises a body value; RawJson is spliced in verbatim. undefined → no body. */
export function serialize(value: unknown, ids: Record<string, string>): string | undefined {
  if (value instanceof RawJson) return value.text;
  if (value instanceof RealId) return JSON.stringify(ids[value.name] ?? randomUUID());
  if (Array.isArray(value)) return `[${value.map((v) => serialize(v, ids) ?? 'null').join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function');
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v, ids) ?? 'null'}`).join(',')}}`;
  }
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

export const EDGE_DATES = [
  '2016-12-31T23:59:60Z',
  '1990-12-31T15:59:60-08:00',
  '9999-12-31T23:59:59-23:59',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '0000-01-01T00:00:00+23:59',
  '2024-02-30T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T00:00:00+24:00',
  '2024-01-01t00:00:00z',
  '2024-01-01 00:00:00Z',
  '2024-01-01T00:00:00.123456789123Z',
  '2024-01-01',
  'now',
  'infinity',
  '-infinity',
  'epoch',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
];

/** Values swapped into one body field at a time. */
export const FIELD_POISONS: [string, unknown][] = [
  ['a null byte', 'a\u0000b'],
  ['only a null byte', '\u0000'],
  ['a lone surrogate', '\ud800x'],
  ['emoji', '😀'.repeat(20)],
  ['bidi and BOM', '\u202e\ufeffx\u200b'],
  ['combining marks', `e${'\u0301'.repeat(500)}`],
  ['a huge string', new RawJson(JSON.stringify('x'.repeat(500_000)))],
  ['an integer', 12345],
  ['a huge float', 1e308],
  ['a negative number', -1],
  ['a 400-digit number', new RawJson(`1${'0'.repeat(400)}`)],
  ['a boolean', true],
  ['null', null],
  ['an empty string', ''],
  ['whitespace', ' \t\n '],
  ['an array', ['a', 1]],
  ['an object', { a: 1 }],
  ['an object with null bytes', { 'k\u0000': 'v\u0000' }],
  ['a nested null byte', { a: [{ b: 'x\u0000' }] }],
  ['an object nested 2 000 deep', new RawJson(deepObject(2_000))],
  ['an object nested 20 000 deep', new RawJson(deepObject(20_000))],
  ['an array nested 20 000 deep', new RawJson(deepArray(20_000))],
  ['1 000 keys', Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]))],
  ['a __proto__ object', new RawJson('{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}')],
  ['a leap-second date', '2016-12-31T23:59:60Z'],
  ['a uuid of nothing', '0190a6f0-0000-7000-8000-000000000000'],
  ['SQL', "'; DROP TABLE users; --"],
];

/** Replacements for one path param at a time (already URL-encoded, or deliberately malformed). */
export const PATH_POISONS: string[] = [
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '0190a6f0-0000-7000-8000-000000000000',
  'not-a-uuid',
  'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  '0190a6f000007000800000000000000',
  '{0190a6f0-0000-7000-8000-000000000000}',
  '-1',
  '0',
  'null',
  'me',
  '..',
  '%2e%2e',
  '%00',
  '%2F',
  '%20',
  encode('😀'),
  encode("' OR 1=1 --"),
  encode('\u0000\ud800'),
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AF',
  'a'.repeat(101),
  '1'.repeat(2000),
];

/** Replacements for one query param at a time (wire form). */
export const QUERY_POISONS: string[] = [
  '-1',
  '0',
  '1',
  '100',
  '101',
  'abc',
  '1.5',
  '1e2',
  '',
  '99999999999999999999999',
  'NaN',
  'Infinity',
  '0x10',
  '%00',
  '%',
  '%zz',
  encode('😀'),
  encode("'; DROP TABLE audit_logs; --"),
  encode('member.*'),
  encode('%_\\'),
  'x'.repeat(5_000),
  base64url('v1:not-a-uuid'),
  base64url('v1:0190a6f0-0000-7000-8000-000000000000'),
  base64url('v1:FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'),
  base64url('garbage'),
  ...EDGE_DATES.map(encode),
];

// ── invariants ──────────────────────────────────────────────────────────────────────────────────

const STACK_TRACES = [
  /\bat (?:async )?[\w$.<>[\] ]*\(?(?:file:\/\/|\/|[A-Za-z]:\\|node:)[^\s)]*:\d+:\d+\)?/,
  /\b\w*Error: [^\n]*\n\s+at /,
  /node_modules[\\/]/,
  /\.[cm]?[jt]s:\d+:\d+/,
];

/** Why the response breaks the contract, or null. */
export function violation(response: TestResponse): string | null {
  if (response.status >= 500) return `status ${response.status}`;
  for (const pattern of STACK_TRACES) {
    if (pattern.test(response.text)) return `stack trace in the body (${pattern})`;
  }
  if (response.status < 400) return null;
  const type = String(response.headers['content-type'] ?? '');
  if (!/^application\/problem\+json/.test(type)) return `${response.status} with content-type "${type}"`;
  const body = response.body as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null) return 'problem body is not a JSON object';
  for (const field of ['type', 'title', 'detail', 'code']) {
    if (typeof body[field] !== 'string' || body[field] === '') return `problem.${field} missing`;
  }
  if (body.status !== response.status) return `problem.status ${body.status} ≠ ${response.status}`;
  if (body.errors !== undefined) {
    const ok =
      Array.isArray(body.errors) &&
      body.errors.every(
        (e: { path?: unknown; message?: unknown }) =>
          typeof e?.path === 'string' && typeof e?.message === 'string',
      );
    if (!ok) return 'problem.errors is not [{path, message}]';
  }
  return null;
}
