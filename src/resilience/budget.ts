/**
 * A retry budget after Finagle's `RetryBudget` (finagle.github.io/blog/2016/02/08/retry-budgets):
 * every request deposits `ratio` of a token, every retry withdraws one, and deposits expire after
 * `ttlMs`. Retries therefore add at most `ratio` extra load over any window, however many attempts
 * the retry policy allows — without it, 3 attempts turn an outage into 3× the traffic just when the
 * upstream can least take it. A reserve of `minRetriesPerSecond × ttl` keeps retries possible on
 * low traffic, where a ratio alone would allow none. Envoy's retry budgets make the same trade with
 * a concurrency ratio (`budget_percent` 20 %, `min_retry_concurrency` 3).
 */
import { RollingWindow } from './rolling-window.ts';
import { type Clock, systemClock } from './types.ts';
import { checkRatio } from './validate.ts';

export interface RetryBudgetOptions {
  /** Tokens one request deposits: retries allowed per request. Default 0.2 (Finagle's and Envoy's 20 %). */
  ratio?: number;
  /** How long a deposit counts, 1 000 to 60 000 ms in whole seconds (Finagle's range). Default 10 000. */
  ttlMs?: number;
  /** Retries per second allowed without traffic. Default 3 (Envoy's `min_retry_concurrency`). */
  minRetriesPerSecond?: number;
  clock?: Clock;
}

export interface RetryBudgetSnapshot {
  ratio: number;
  ttlMs: number;
  /** Retries the budget allows with no traffic: `minRetriesPerSecond × ttl seconds`. */
  reserve: number;
  /** Requests recorded within the last ttl. */
  requests: number;
  /** Retries granted within the last ttl. */
  retries: number;
  /** Retries it would grant right now: `ratio × requests + reserve − retries`, at least 0. */
  available: number;
  /** Retries refused since the budget was built (a counter: `retry_budget_exhausted_total`). */
  exhausted: number;
}

export interface RetryBudget {
  /** Deposits `ratio`; call once per logical request, not per try. */
  recordRequest(): void;
  /** Withdraws one token for a retry; `false` means the retry must not happen. */
  tryWithdraw(): boolean;
  snapshot(): RetryBudgetSnapshot;
}

/** Tokens are counted in thousandths so that 0.2 per request sums exactly. */
const SCALE = 1000;

/**
 * Builds one budget per upstream, shared by every call to it.
 *
 * @example
 * const budget = createRetryBudget({ ratio: 0.2, ttlMs: 10_000, minRetriesPerSecond: 3 });
 * const retry = createRetry<Response>({ budget, shouldRetry: (o) => !o.ok });
 */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const ratio = checkRatio('retry budget ratio', options.ratio ?? 0.2, 1000);
  const ttlMs = options.ttlMs ?? 10_000;
  if (!Number.isInteger(ttlMs / 1000) || ttlMs < 1000 || ttlMs > 60_000) {
    throw new RangeError(`retry budget ttlMs must be whole seconds from 1 000 to 60 000 ms, got ${ttlMs}`);
  }
  const minPerSecond = checkRatio('retry budget minRetriesPerSecond', options.minRetriesPerSecond ?? 3, 1e6);
  const clock = options.clock ?? systemClock;
  const seconds = ttlMs / 1000;
  const deposit = Math.round(ratio * SCALE);
  const reserve = Math.round(minPerSecond * seconds * SCALE);
  // One slot per second: requests in A, retries in B. Withdrawals expire with the deposits, as in
  // Finagle's leaky token bucket, so over any ttl window retries ≤ ratio × requests + reserve.
  const window = new RollingWindow(seconds, 1000, clock.now());
  let exhausted = 0;

  const balance = (now: number) => window.sumA(now) * deposit + reserve - window.sumB(now) * SCALE;

  return {
    recordRequest() {
      window.add(clock.now(), 1, 0);
    },
    tryWithdraw() {
      const now = clock.now();
      if (balance(now) < SCALE) {
        exhausted++;
        return false;
      }
      window.add(now, 0, 1);
      return true;
    },
    snapshot() {
      const now = clock.now();
      return {
        ratio,
        ttlMs,
        reserve: reserve / SCALE,
        requests: window.sumA(now),
        retries: window.sumB(now),
        available: Math.max(0, Math.floor(balance(now) / SCALE)),
        exhausted,
      };
    },
  };
}
