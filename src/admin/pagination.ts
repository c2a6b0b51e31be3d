/**
 * Cursor pagination for every admin list (Q14): `?limit=` (default 50, max 250) and `?cursor=`, an
 * opaque token the server issued. Opaque so that clients don't build them and we may change what is
 * inside; it carries the last key of the previous page (keyset pagination: no OFFSET scans, stable
 * while rows are added). A cursor can only move within what the query already scopes to, so it needs
 * no signature; a malformed one is a 400, never a 500.
 */
import Type, { type Static } from 'typebox';
import { JunctionError } from '../core/errors.ts';
import { CursorInvalid } from './errors.ts';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 250;

export const PageQuery = Type.Object(
  {
    // Optional for the client (the OpenAPI document says so); the validator fills the default.
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuery>;

/** The list envelope: `{ data, next_cursor }`, `next_cursor` null on the last page. */
export function pageSchema<T extends Parameters<typeof Type.Array>[0]>(item: T) {
  return Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });
}

interface CursorBody {
  v: 1;
  /** Which list issued it, so a cursor from one list is refused by another. */
  k: string;
  after: string;
}

export function encodeCursor(kind: string, after: string): string {
  const body: CursorBody = { v: 1, k: kind, after };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** The key to continue after; throws `cursor_invalid` for anything this server did not issue. */
export function decodeCursor(kind: string, cursor: string): string {
  let body: Partial<CursorBody> | undefined;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorBody>;
  } catch {
    body = undefined;
  }
  if (body?.v !== 1 || body.k !== kind || typeof body.after !== 'string') {
    throw new JunctionError(CursorInvalid, 'the cursor was not issued by this list; start again without one');
  }
  return body.after;
}

/**
 * @example
 * const { items, next } = await repo.list({ limit, after: query.cursor && decodeCursor('revisions', query.cursor) });
 * return toPage('revisions', items.map(view), next);
 */
export function toPage<T>(kind: string, data: T[], next: string | undefined) {
  return { data, next_cursor: next === undefined ? null : encodeCursor(kind, next) };
}
