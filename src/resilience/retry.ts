import { orNever, sleep, attempt as tryOnce, unwrap } from './async.ts';
import { type BackoffOptions, backoffDelays, resolveBackoff } from './backoff.ts';
import type { RetryBudget } from './budget.ts';
import { type Clock, type Outcome, type Policy, systemClock } from './types.ts';
import { checkCount, checkDelay } from './validate.ts';

export interface RetryInfo<T> {
  /** The try that just failed (1 = the first). */
  attempt: number;
  /** How long the policy waits before the next try. */
  delayMs: number;
  /** What the upstream asked for (`Retry-After`), when `retryAfterMs` found one. */
  retryAfterMs: number | undefined;
  outcome: Outcome<T>;
}

export interface RetryOptions<T> {
  /** Tries in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Default: full jitter, base 100 ms, cap 10 000 ms. */
  backoff?: BackoffOptions;
  /**
   * Whether this outcome should be tried again — the caller's call: only idempotent requests, and
   * only outcomes a retry can fix (a 503 value, a refused connection; not a 400).
   */
  shouldRetry: (outcome: Outcome<T>, attempt: number) => boolean;
  /** How long the upstream asked to wait, e.g. `parseRetryAfter(value.headers['retry-after'], now)`. */
  retryAfterMs?: (outcome: Outcome<T>) => number | undefined;
  /** A requested wait longer than this ends the retries instead. Default 10 000 ms. */
  maxRetryAfterMs?: number;
  /** Shared per upstream; without one, retries are limited only by `maxAttempts`. */
  budget?: RetryBudget;
  /** Receives a failed value that is being retried, so the caller frees it (destroys the body). */
  discard?: (value: T) => void;
  onRetry?: (info: RetryInfo<T>) => void;
  /** A retry was wanted but the budget refused it (count it: `retry_budget_exhausted_total`). */
  onBudgetExhausted?: () => void;
  clock?: Clock;
  random?: () => number;
}

/**
 * Tries an operation again while `shouldRetry` says so, waiting an exponential, jittered backoff —
 * or the upstream's `Retry-After` when longer — between tries. When it stops, the caller gets the
 * last outcome as it was: a failed value (a 503 response) resolves, an error rejects. Each execute
 * deposits in the `budget`; each retry must withdraw from it, and a refused withdrawal ends the
 * retries. The wait between tries ends early, rejecting with the reason, when `signal` aborts.
 *
 * @example
 * const retry = createRetry<UpstreamResponse>({
 *   maxAttempts: 3,
 *   backoff: { strategy: 'full', baseMs: 100, capMs: 2_000 },
 *   shouldRetry: (o) => (o.ok ? o.value.status === 503 : true),
 *   retryAfterMs: (o) => (o.ok ? parseRetryAfter(o.value.headers['retry-after'], Date.now()) : undefined),
 *   budget: createRetryBudget(),
 *   discard: (res) => res.body?.destroy(),
 * });
 */
export function createRetry<T>(options: RetryOptions<T>): Policy<T> {
  const maxAttempts = checkCount('retry maxAttempts', options.maxAttempts ?? 3, 1);
  const backoff = resolveBackoff(options.backoff);
  const maxRetryAfterMs = checkDelay('retry maxRetryAfterMs', options.maxRetryAfterMs ?? 10_000);
  const { shouldRetry, budget } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;

  return {
    async execute(fn, outer) {
      const signal = orNever(outer);
      signal.throwIfAborted();
      budget?.recordRequest();
      let delays: Iterator<number> | undefined;
      for (let attempt = 1; ; attempt++) {
        const outcome = await tryOnce(fn, { attempt, signal });
        // Once the caller has given up, nothing more is wanted: hand back what this try produced.
        if (signal.aborted || attempt >= maxAttempts || !shouldRetry(outcome, attempt))
          return unwrap(outcome);

        delays ??= backoffDelays(backoff, random);
        let delayMs = delays.next().value as number;
        const retryAfterMs = options.retryAfterMs?.(outcome);
        if (retryAfterMs !== undefined) {
          // An upstream that asks for a longer pause than the caller will wait cannot be helped by
          // retrying sooner (RFC 9110 §10.2.3); its answer is the most useful thing to return.
          if (retryAfterMs > maxRetryAfterMs) return unwrap(outcome);
          delayMs = Math.max(delayMs, retryAfterMs);
        }
        if (budget !== undefined && !budget.tryWithdraw()) {
          options.onBudgetExhausted?.();
          return unwrap(outcome);
        }
        if (outcome.ok) options.discard?.(outcome.value);
        options.onRetry?.({ attempt, delayMs, retryAfterMs, outcome });
        await sleep(clock, delayMs, signal);
      }
    },
  };
}
