/**
 * GCRA, the generic cell rate algorithm (ITU-T I.371 virtual scheduling; as a rate limiter:
 * brandur/redis-cell, and "Understanding Generic Cell Rate Limiting", Ian Stapleton Cordasco, 2018).
 * A token bucket of `burst` tokens refilled at `limit / windowMs`, kept as one number per key: the
 * theoretical arrival time (TAT) of the next request at the sustained rate. With emission interval
 * T = windowMs / limit and tolerance τ = (burst − 1)·T, a request at `now` conforms iff
 * `now ≥ TAT − τ`, and then TAT = max(TAT, now) + T. No background refill, no drift.
 *
 * Exact: in any interval of length L at most `burst + ⌊L / T⌋` requests pass, so at most
 * `limit + burst − 1` in any window of `windowMs`.
 */
import { type Algorithm, ceilMs, type Decision, type LimitSpec, TIME_EPSILON_MS } from './types.ts';

export interface GcraState {
  /** Theoretical arrival time, ms; a key never seen has TAT = now (a full bucket). */
  tat: number;
}

export function emissionMs(spec: LimitSpec): number {
  return spec.windowMs / spec.limit;
}

export const gcra: Algorithm<GcraState> = {
  name: 'gcra',
  init: () => ({ tat: Number.NEGATIVE_INFINITY }),
  check(state, now, spec): Decision {
    const t = emissionMs(spec);
    const tau = (spec.burst - 1) * t;
    const tat = Math.max(state.tat, now);
    const allowAt = tat - tau;
    if (now + TIME_EPSILON_MS >= allowAt) {
      const next = tat + t;
      return {
        allowed: true,
        limit: spec.burst,
        // Requests that would still conform now, once TAT has moved on to `next`.
        remaining: Math.max(0, Math.floor((now + tau - next + TIME_EPSILON_MS) / t) + 1),
        resetMs: ceilMs(next - now),
        retryAfterMs: 0,
      };
    }
    return {
      allowed: false,
      limit: spec.burst,
      remaining: 0,
      resetMs: ceilMs(tat - now),
      retryAfterMs: ceilMs(allowAt - now),
    };
  },
  commit(state, now, spec) {
    state.tat = Math.max(state.tat, now) + emissionMs(spec);
  },
};
