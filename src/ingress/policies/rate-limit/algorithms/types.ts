/**
 * What every rate-limit algorithm shares. The algorithms are pure: state in, decision out, with the
 * time passed in (a fake clock in tests, Redis `TIME` for the Lua twins in ../lua.ts). Nothing here
 * does I/O, so the in-memory backend and the unit tests run them directly.
 */

export type AlgorithmName = 'sliding-log' | 'sliding-window' | 'gcra';

/** One limit's numbers, as the config states them. */
export interface LimitSpec {
  /** Requests per window (for GCRA: the sustained rate is `limit / windowMs`). */
  limit: number;
  windowMs: number;
  /** GCRA only: requests that may pass at once after an idle spell (the bucket size). */
  burst: number;
}

/** The answer for one limit. Every field describes the state *after* this request. */
export interface Decision {
  allowed: boolean;
  /** The quota the remaining count is out of (GCRA: the burst). */
  limit: number;
  /** Requests that would still pass right now. */
  remaining: number;
  /** Milliseconds until the whole quota is available again. */
  resetMs: number;
  /** Milliseconds until a request would pass again; 0 when this one did. */
  retryAfterMs: number;
}

/**
 * Check-then-commit (TykTechnologies/tyk#1876: a limiter that counts refused requests never
 * recovers under load): `check` answers as if the request were recorded when allowed, but records
 * nothing; `commit` records it. The caller commits only when every limit of the request allowed it.
 */
export interface Algorithm<S> {
  readonly name: AlgorithmName;
  /** A fresh key's state. */
  init(spec: LimitSpec): S;
  /** May drop what has expired (that changes no answer), never records the request. */
  check(state: S, now: number, spec: LimitSpec): Decision;
  commit(state: S, now: number, spec: LimitSpec): void;
}

/** Floating-point slack for comparisons of counts. */
export const EPSILON = 1e-9;

/**
 * Slack for comparisons of epoch milliseconds: a double near 1.7e12 is only exact to about 2e-4,
 * and Redis keeps times to the microsecond (%.3f in ../lua.ts). One microsecond decides nothing.
 */
export const TIME_EPSILON_MS = 1e-3;

/** Whole milliseconds, rounded up, ignoring float noise (21.000000000000018 is 21). */
export function ceilMs(x: number): number {
  return Math.max(0, Math.ceil(x - 1e-6));
}
