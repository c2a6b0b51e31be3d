/**
 * When a failed delivery is tried again (docs/events.md "Delivery and dead letters"): exponential
 * backoff with full jitter (src/resilience/backoff.ts), from the subscription's `retry.initialMs`
 * doubling to `retry.maxMs`, and never sooner than the destination asked (`Retry-After`).
 */
import type { SubscriptionConfig } from '../config/events-schema.ts';
import { fullJitterDelay } from '../resilience/index.ts';

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
