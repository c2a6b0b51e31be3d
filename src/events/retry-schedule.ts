/**
 * When a failed delivery is tried again (docs/events.md "Delivery and dead letters"): exponential
 * backoff with full jitter (src/resilience/backoff.ts), from the subscription's `retry.initialMs`
 * doubling to `retry.maxMs`, and never sooner than the destination asked (`Retry-After`).
 *
 * A resolved target (an outbound webhook endpoint) may bring an explicit schedule instead
 * (`scheduledStep`): one delay per retry with ±jitter, `Retry-After` honoured up to a bound, and at
 * least `slowDownMs` after 429, 502, 504 and timeouts.
 */
import type { SubscriptionConfig } from '../config/events-schema.ts';
import { fullJitterDelay } from '../resilience/index.ts';
import { DestinationTimeout } from './destinations/errors.ts';

export type RetrySettings = SubscriptionConfig['retry'];

export type NextStep = { kind: 'retry'; delayMs: number } | { kind: 'dead' };

/**
 * What follows a failed attempt. `attempts` counts the attempts made, the failed one included (the
 * store's `attempts` while it is leased): after `maxAttempts` the delivery is dead.
 * @example
 * nextStep(2, { maxAttempts: 8, initialMs: 1_000, maxMs: 3_600_000 }, undefined, Math.random);
 * // { kind: 'retry', delayMs: <uniform in [0, 2000)> }
 */
export function nextStep(
  attempts: number,
  retry: RetrySettings,
  retryAfterMs: number | undefined,
  random: () => number,
): NextStep {
  if (attempts >= retry.maxAttempts) return { kind: 'dead' };
  const backoff = fullJitterDelay(attempts, retry.initialMs, retry.maxMs, random);
  return { kind: 'retry', delayMs: Math.ceil(Math.max(backoff, retryAfterMs ?? 0)) };
}

/** An explicit retry schedule: the first attempt at once, then one retry after each delay. */
export interface RetrySchedule {
  /** Delay before retry n (n from 1); its length is the number of retries. */
  delaysMs: readonly number[];
  /** Each delay is drawn uniformly within ±jitter of it (0.2: ±20 %). */
  jitter: number;
  /** The longest `Retry-After` taken as given; a longer one is cut to this. */
  maxRetryAfterMs: number;
  /** The least delay after 429, 502, 504 and timeouts, whatever the schedule or `Retry-After` says. */
  slowDownMs: number;
}

/** Answers that ask the sender to slow down (and timeouts): at least `slowDownMs` before the next. */
const SLOW_DOWN_STATUSES: ReadonlySet<number> = new Set([429, 502, 504]);

/**
 * What follows a failed attempt under an explicit schedule: dead once every retry is used, else the
 * scheduled delay with jitter, raised to `Retry-After` (bounded) and, after a slow-down answer, to
 * `slowDownMs`.
 * @example
 * scheduledStep(1, { delaysMs: [5_000], jitter: 0.2, maxRetryAfterMs: 36e6, slowDownMs: 60_000 },
 *   { code: 'destination_status', status: 500 }, Math.random);
 * // { kind: 'retry', delayMs: <uniform in [4000, 6000]> }
 */
export function scheduledStep(
  attempts: number,
  schedule: RetrySchedule,
  outcome: { code: string; status?: number; retryAfterMs?: number },
  random: () => number,
): NextStep {
  if (attempts < 1 || attempts > schedule.delaysMs.length) return { kind: 'dead' };
  const base = schedule.delaysMs[attempts - 1] as number;
  let delay = base * (1 + schedule.jitter * (2 * random() - 1));
  if (outcome.retryAfterMs !== undefined) {
    delay = Math.max(delay, Math.min(outcome.retryAfterMs, schedule.maxRetryAfterMs));
  }
  const slowDown =
    outcome.code === DestinationTimeout.code ||
    (outcome.status !== undefined && SLOW_DOWN_STATUSES.has(outcome.status));
  if (slowDown) delay = Math.max(delay, schedule.slowDownMs);
  return { kind: 'retry', delayMs: Math.max(0, Math.ceil(delay)) };
}
