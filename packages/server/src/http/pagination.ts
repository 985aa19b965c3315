// Cursor pagination for every list: ids are UUIDv7 (time-ordered), so the cursor is simply the
// last id seen, opaque to clients. Lists ask for one row more than the page to know if more exist.
import { Type } from 'typebox';
import { isUuid } from '../platform/ids.ts';
import { problems } from './problem.ts';

/** Query fields every list accepts; spread into a route's own querystring schema. */
export const pageQueryFields = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size (1–100).' }),
  ),
  cursor: Type.Optional(
    Type.String({ maxLength: 200, description: 'The `next_cursor` of the previous page.' }),
  ),
};

export interface Page {
  limit: number;
  /** Decoded id after which the page starts, or null for the first page. */
  after: string | null;
}

export function encodeCursor(id: string): string {
  return Buffer.from(`v1:${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined || cursor === '') return null;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith('v1:') ? text.slice(3) : '';
  if (!isUuid(id)) {
    throw problems.badRequest(
      'invalid_cursor',
      'cursor is not one this API issued; pass next_cursor unchanged.',
      [{ path: 'query.cursor', message: 'is not a valid cursor' }],
    );
  }
  return id;
}

export function pageOf(query: { limit?: number; cursor?: string }): Page {
  return { limit: query.limit ?? 20, after: decodeCursor(query.cursor) };
}

/** Turns `limit + 1` fetched rows into `{data, next_cursor}`. */
export function toPage<T extends { id: string }, R>(rows: T[], page: Page, shape: (row: T) => R) {
  const hasMore = rows.length > page.limit;
  const data = hasMore ? rows.slice(0, page.limit) : rows;
  const last = data[data.length - 1];
  return { data: data.map(shape), next_cursor: hasMore && last ? encodeCursor(last.id) : null };
}

export const pageResponse = <T extends import('typebox').TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });
