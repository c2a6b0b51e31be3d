/**
 * Sliding log (the seed's Q42 answer; Tyk's Redis rate limiter): the time of every admitted request
 * within the last window; a request passes iff fewer than `limit` are newer than `now − windowMs`.
 * Exact — no window of `windowMs` ever holds more than `limit` admitted requests — at the cost of one
 * entry per admitted request: O(limit) memory per key (8 bytes each here; a sorted-set member in
 * Redis). Prefer GCRA or the sliding window for large limits.
 *
 * In memory the log is a ring of timestamps, oldest first (the clock never goes back), that grows
 * by doubling up to what the limit needs.
 */
import { type Algorithm, ceilMs, type Decision, TIME_EPSILON_MS } from './types.ts';

export interface LogState {
  times: Float64Array;
  head: number;
  size: number;
}

function at(s: LogState, i: number): number {
  return s.times[(s.head + i) % s.times.length]!;
}

/** Drops entries at or before `now − windowMs`: the window is (now − windowMs, now]. */
function prune(s: LogState, now: number, windowMs: number): void {
  const edge = now - windowMs + TIME_EPSILON_MS;
  while (s.size > 0 && s.times[s.head]! <= edge) {
    s.head = (s.head + 1) % s.times.length;
    s.size--;
  }
}

export const slidingLog: Algorithm<LogState> = {
  name: 'sliding-log',
  init: (spec) => ({ times: new Float64Array(Math.min(spec.limit, 8)), head: 0, size: 0 }),
  check(s, now, spec): Decision {
    prune(s, now, spec.windowMs);
    const count = s.size;
    if (count < spec.limit) {
      return {
        allowed: true,
        limit: spec.limit,
        remaining: spec.limit - count - 1,
        resetMs: spec.windowMs,
        retryAfterMs: 0,
      };
    }
    // `count − limit + 1` entries must expire first; the last of them is at index `count − limit`.
    return {
      allowed: false,
      limit: spec.limit,
      remaining: 0,
      resetMs: ceilMs(at(s, count - 1) + spec.windowMs - now),
      retryAfterMs: ceilMs(at(s, count - spec.limit) + spec.windowMs - now),
    };
  },
  commit(s, now) {
    if (s.size === s.times.length) {
      const grown = new Float64Array(Math.max(8, s.times.length * 2));
      for (let i = 0; i < s.size; i++) grown[i] = at(s, i);
      s.times = grown;
      s.head = 0;
    }
    s.times[(s.head + s.size) % s.times.length] = now;
    s.size++;
  },
};
