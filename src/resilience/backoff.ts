/**
 * Exponential backoff with jitter, after Marc Brooker, "Exponential Backoff and Jitter" (AWS
 * Architecture Blog, 2015). Un-jittered backoff keeps contending clients in lock-step, so they
 * collide again on every retry; spreading each delay at random removes the herd. The post's
 * simulation found full jitter does the least total work and decorrelated jitter finishes slightly
 * sooner — full is the default here because retries against one upstream share its capacity.
 *
 * `retry` counts retries: 1 is the wait before the second try.
 */

import { checkDelay } from './validate.ts';

export type BackoffStrategy = 'full' | 'decorrelated' | 'none';

export interface BackoffOptions {
  /** Default `'full'`. `'none'` is plain exponential backoff without jitter. */
  strategy?: BackoffStrategy;
  /** Default 100 ms. With `baseMs: 0` every delay is 0 (retry at once). */
  baseMs?: number;
  /** Default 10 000 ms: no single wait is longer. */
  capMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { strategy: 'full', baseMs: 100, capMs: 10_000 };

/** Fills in defaults and checks the numbers once, when the policy is built. */
export function resolveBackoff(options: BackoffOptions = {}): Required<BackoffOptions> {
  const strategy = options.strategy ?? DEFAULT_BACKOFF.strategy;
  if (strategy !== 'full' && strategy !== 'decorrelated' && strategy !== 'none') {
    throw new RangeError(`backoff strategy must be full, decorrelated or none, got ${String(strategy)}`);
  }
  const baseMs = checkDelay('backoff baseMs', options.baseMs ?? DEFAULT_BACKOFF.baseMs);
  const capMs = checkDelay('backoff capMs', options.capMs ?? DEFAULT_BACKOFF.capMs);
  return { strategy, baseMs, capMs };
}

/** `min(capMs, baseMs × 2^(retry−1))`: the un-jittered delay and the ceiling of full jitter. */
export function exponentialDelay(retry: number, baseMs: number, capMs: number): number {
  if (baseMs <= 0) return 0;
  // 2 ** 1100 is Infinity; min() turns that into the cap rather than NaN because baseMs > 0.
  return Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
}

/** Full jitter: `random() × min(capMs, baseMs × 2^(retry−1))`, uniform in [0, ceiling). */
export function fullJitterDelay(retry: number, baseMs: number, capMs: number, random: () => number): number {
  return random() * exponentialDelay(retry, baseMs, capMs);
}

/**
 * Decorrelated jitter: `min(capMs, random_between(baseMs, previousMs × 3))`, where the first
 * `previousMs` is `baseMs`. Each delay depends on the last rather than on the retry number, so it
 * keeps growing on average yet never falls below `baseMs`.
 */
export function decorrelatedJitterDelay(
  previousMs: number,
  baseMs: number,
  capMs: number,
  random: () => number,
): number {
  const high = Math.max(baseMs, previousMs * 3);
  return Math.min(capMs, baseMs + random() * (high - baseMs));
}

/**
 * The successive waits of one call under `options`: an endless iterator, one per retry.
 *
 * @example
 * const delays = backoffDelays({ strategy: 'decorrelated', baseMs: 50, capMs: 2_000 }, Math.random);
 * const first = delays.next().value; // between 50 and 150 ms
 */
export function* backoffDelays(options: BackoffOptions, random: () => number): Generator<number, never> {
  const { strategy, baseMs, capMs } = resolveBackoff(options);
  let previous = baseMs;
  for (let retry = 1; ; retry++) {
    if (strategy === 'decorrelated') previous = decorrelatedJitterDelay(previous, baseMs, capMs, random);
    else if (strategy === 'full') previous = fullJitterDelay(retry, baseMs, capMs, random);
    else previous = exponentialDelay(retry, baseMs, capMs);
    yield previous;
  }
}
