/**
 * What a page of a polled list holds: its items (at a JSON pointer, RFC 6901), each item's
 * identity (the dedupe key) and the cursor the next poll starts from.
 */
import { Pointer } from 'typebox/value';
import type { PollerConfig } from '../../config/events-schema.ts';
import { JunctionError } from '../../core/errors.ts';
import { PollResponseInvalid } from './errors.ts';

export type CursorValue = string | number;

/**
 * The items array of a parsed page: the body itself for an empty pointer, else the value at the
 * pointer (`/data`, `/result/items`).
 */
export function itemsAt(body: unknown, pointer: string): unknown[] {
  const items = pointer === '' ? body : Pointer.Get(body, pointer);
  if (!Array.isArray(items)) {
    throw new JunctionError(
      PollResponseInvalid,
      pointer === '' ? 'the body is not a JSON array' : `no array at ${pointer}`,
    );
  }
  return items;
}

/** A field of an item: a top-level name (`id`), or a JSON pointer into it (`/meta/id`). */
export function fieldOf(item: unknown, field: string): unknown {
  if (field.startsWith('/')) return Pointer.Get(item, field);
  return item !== null && typeof item === 'object' && Object.hasOwn(item, field)
    ? (item as Record<string, unknown>)[field]
    : undefined;
}

const scalar = (v: unknown): v is string | number =>
  (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v));

/**
 * The item's external id: its id, or `id@version` when the config names a version field, so that a
 * changed item is a new event and one seen before a duplicate. Undefined when the item has no
 * usable id (or version): such an item cannot be deduplicated and is skipped.
 * @example
 * externalIdOf({ id: 42, updated_at: '2026-11-25T10:00:00Z' }, { id: 'id', version: 'updated_at' });
 * // '42@2026-11-25T10:00:00Z'
 */
export function externalIdOf(
  item: unknown,
  config: Pick<PollerConfig, 'id' | 'version'>,
): string | undefined {
  const id = fieldOf(item, config.id);
  if (!scalar(id)) return undefined;
  if (config.version === undefined) return String(id);
  const version = fieldOf(item, config.version);
  return scalar(version) ? `${id}@${version}` : undefined;
}

/**
 * Orders cursor values: numerically when both are numbers (or one is a number and the other a
 * numeric string, as a stored cursor is), else as strings, which orders ISO 8601 timestamps of one
 * format and zone correctly.
 */
export function compareCursors(a: CursorValue, b: CursorValue): number {
  if (typeof a === 'number' || typeof b === 'number') {
    const [x, y] = [Number(a), Number(b)];
    if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  }
  const [x, y] = [String(a), String(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The later of the current cursor and an item's cursor field (items without one leave it). */
export function laterCursor(
  current: CursorValue | undefined,
  item: unknown,
  field: string,
): CursorValue | undefined {
  const value = fieldOf(item, field);
  if (!scalar(value)) return current;
  return current === undefined || compareCursors(value, current) > 0 ? value : current;
}
