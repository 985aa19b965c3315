import { describe, expect, it } from 'vitest';
import { newId } from '../platform/ids.ts';
import { decodeCursor, encodeCursor, pageOf, toPage } from './pagination.ts';
import { ProblemError } from './problem.ts';

function expectInvalidCursor(cursor: string) {
  let caught: unknown;
  try {
    decodeCursor(cursor);
  } catch (error) {
    caught = error;
  }
  expect(caught, `cursor ${JSON.stringify(cursor)}`).toBeInstanceOf(ProblemError);
  const problem = caught as ProblemError;
  expect(problem.status).toBe(400);
  expect(problem.code).toBe('invalid_cursor');
  expect(problem.extra.errors).toEqual([{ path: 'query.cursor', message: 'is not a valid cursor' }]);
}

describe('cursors', () => {
  it('round-trip an id through an opaque, URL-safe string', () => {
    for (let i = 0; i < 50; i++) {
      const id = newId();
      const cursor = encodeCursor(id);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(cursor).not.toContain(id);
      expect(decodeCursor(cursor)).toBe(id);
    }
  });

  it('keep the case of the id they carry', () => {
    const id = newId().toUpperCase();
    expect(decodeCursor(encodeCursor(id))).toBe(id);
  });

  it('decode absent or empty cursors as the first page', () => {
    expect(decodeCursor(undefined)).toBeNull();
    expect(decodeCursor('')).toBeNull();
  });

  it.each([
    'garbage',
    '!!!',
    'djE6', // "v1:" with nothing after it
    Buffer.from('v2:0190a8f0-0000-7000-8000-000000000000').toString('base64url'),
    Buffer.from('0190a8f0-0000-7000-8000-000000000000').toString('base64url'), // no version prefix
    Buffer.from('v1:not-a-uuid').toString('base64url'),
    Buffer.from("v1:0190a8f0-0000-7000-8000-000000000000' OR 1=1").toString('base64url'),
    Buffer.from('v1:0190a8f0-0000-7000-8000-000000000000\n').toString('base64url'),
    '0190a8f0-0000-7000-8000-000000000000', // a raw id is not a cursor
  ])('reject %j with 400 invalid_cursor', (cursor) => {
    expectInvalidCursor(cursor);
  });

  it('reject a cursor with a character changed', () => {
    const cursor = encodeCursor(newId());
    expectInvalidCursor(`A${cursor.slice(1)}`);
  });
});

describe('pageOf', () => {
  it('defaults to 20 rows from the start', () => {
    expect(pageOf({})).toEqual({ limit: 20, after: null });
  });

  it('passes the limit through and decodes the cursor', () => {
    const id = newId();
    expect(pageOf({ limit: 5, cursor: encodeCursor(id) })).toEqual({ limit: 5, after: id });
  });

  it('rejects a bad cursor', () => {
    expect(() => pageOf({ cursor: 'nonsense' })).toThrow(ProblemError);
  });
});

describe('toPage', () => {
  const rows = (n: number) => Array.from({ length: n }, () => ({ id: newId(), secret: 'x' }));
  const shape = (row: { id: string }) => ({ id: row.id });

  it('has no next cursor when fewer than limit + 1 rows came back', () => {
    const page = { limit: 3, after: null };
    expect(toPage([], page, shape)).toEqual({ data: [], next_cursor: null });
    const two = rows(2);
    expect(toPage(two, page, shape)).toEqual({ data: two.map(shape), next_cursor: null });
    const three = rows(3);
    expect(toPage(three, page, shape)).toEqual({ data: three.map(shape), next_cursor: null });
  });

  it('drops the extra row and points the cursor at the last row shown', () => {
    const four = rows(4);
    const result = toPage(four, { limit: 3, after: null }, shape);
    expect(result.data).toEqual(four.slice(0, 3).map(shape));
    expect(result.next_cursor).not.toBeNull();
    expect(decodeCursor(result.next_cursor!)).toBe(four[2]!.id);
  });

  it('shapes every row (nothing unshaped leaks)', () => {
    const result = toPage(rows(2), { limit: 1, after: null }, shape);
    expect(result.data).toHaveLength(1);
    expect(Object.keys(result.data[0]!)).toEqual(['id']);
  });

  it('walks a whole list page by page without gaps or repeats', () => {
    const all = rows(11).sort((a, b) => a.id.localeCompare(b.id));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let guard = 0; guard < 10; guard++) {
      const page = pageOf({ limit: 4, ...(cursor ? { cursor } : {}) });
      const fetched = all
        .filter((row) => page.after === null || row.id > page.after)
        .slice(0, page.limit + 1);
      const result = toPage(fetched, page, shape);
      seen.push(...result.data.map((row) => row.id));
      if (!result.next_cursor) break;
      cursor = result.next_cursor;
    }
    expect(seen).toEqual(all.map((row) => row.id));
  });
});
