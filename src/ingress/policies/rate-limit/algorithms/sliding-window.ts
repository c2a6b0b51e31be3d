/**
 * Sliding window counter (Cloudflare, "How we built rate limiting capable of scaling to millions of
 * domains", 2017; Redis's rate limiter patterns): two fixed-window counters, aligned to multiples of
 * `windowMs`, and the estimate `previous · (1 − elapsed / windowMs) + current`, which assumes the
 * previous window's requests were spread evenly. A request passes iff the estimate plus itself is
 * at most `limit`. O(1) state per key: window index and two counts (one Redis hash).
 *
 * Error bound (docs/rate-limiting.md): no aligned window ever admits more than `limit`, and no
 * sliding window of `windowMs` more than `limit + previous · f` < 2 · `limit`, where f is how far
 * into the current window it ends — reached only when the previous window's requests all came at
 * its very end. Under steady load the estimate tracks the true count closely (Cloudflare measured
 * 0.003 % of 400 M requests wrongly allowed or limited).
 */
import { type Algorithm, ceilMs, type Decision, EPSILON, type LimitSpec } from './types.ts';

export interface WindowState {
  /** Index of the current window: ⌊now / windowMs⌋. */
  index: number;
  previous: number;
  current: number;
}

function roll(s: WindowState, now: number, windowMs: number): number {
  const index = Math.floor(now / windowMs);
  if (index !== s.index) {
    s.previous = index === s.index + 1 ? s.current : 0;
    s.current = 0;
    s.index = index;
  }
  return (now - index * windowMs) / windowMs;
}

/** Ms from `now` (at fraction `f` of its window) until the estimate leaves room for one more. */
function retryAfter(s: WindowState, f: number, spec: LimitSpec): number {
  const room = spec.limit - 1;
  const w = spec.windowMs;
  // Still in this window: previous · (1 − f') + current ≤ limit − 1.
  if (s.previous > 0 && s.current < room) {
    const f2 = 1 - (room - s.current) / s.previous;
    if (f2 < 1) return Math.max(0, (f2 - f) * w);
  }
  // In the next window, where this window's count decays instead: current · (1 − g) ≤ limit − 1.
  const g = s.current > 0 ? Math.max(0, 1 - room / s.current) : 0;
  return (1 - f) * w + g * w;
}

export const slidingWindow: Algorithm<WindowState> = {
  name: 'sliding-window',
  init: () => ({ index: Number.NEGATIVE_INFINITY, previous: 0, current: 0 }),
  check(s, now, spec): Decision {
    const f = roll(s, now, spec.windowMs);
    const estimate = s.previous * (1 - f) + s.current;
    const end = (1 - f) * spec.windowMs;
    if (estimate + 1 <= spec.limit + EPSILON) {
      return {
        allowed: true,
        limit: spec.limit,
        remaining: Math.max(0, Math.floor(spec.limit - estimate - 1 + EPSILON)),
        // This request counts in the current window, which weighs on the next one too.
        resetMs: ceilMs(end + spec.windowMs),
        retryAfterMs: 0,
      };
    }
    return {
      allowed: false,
      limit: spec.limit,
      remaining: 0,
      resetMs: ceilMs(s.current > 0 ? end + spec.windowMs : end),
      retryAfterMs: ceilMs(retryAfter(s, f, spec)),
    };
  },
  commit(s, now, spec) {
    roll(s, now, spec.windowMs);
    s.current++;
  },
};
