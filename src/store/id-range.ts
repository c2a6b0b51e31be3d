/**
 * Time ranges as id ranges. Snowflake ids carry their issue time and sort by it as strings
 * (src/core/ids.ts), so "received between from and to" is `id >= floor(from) and id < floor(to)`:
 * one range read of whichever index ends in `id`, no timestamp index needed. Same technique as the
 * audit log's (src/store/audit-log.ts).
 */
import { JUNCTION_EPOCH, Snowflake } from '../core/ids.ts';

/**
 * The smallest `<prefix>_` id issued at or after `ms` (node 0, sequence 0), as a string bound. Before
 * the id epoch every id is greater; past the 41-bit range every id is smaller: `<prefix>_` alone and
 * `<prefix>_~` sort below and above all 13-character Crockford bodies.
 */
export function idFloor(prefix: string, ms: number): string {
  if (ms <= JUNCTION_EPOCH) return `${prefix}_`;
  if (ms >= JUNCTION_EPOCH + 2 ** 41) return `${prefix}_~`;
  return new Snowflake({ nodeId: 0, now: () => Math.floor(ms) }).next(prefix);
}

/** Epoch ms, `from` inclusive and `to` exclusive. */
export interface TimeRange {
  from?: number;
  to?: number;
}
