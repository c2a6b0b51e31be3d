/**
 * Resilience policies (STYLE.md §6): values with one interface, built once per upstream and stacked
 * with `wrap()`. See docs/resilience.md "Policies".
 */

export {
  type BackoffOptions,
  type BackoffStrategy,
  backoffDelays,
  DEFAULT_BACKOFF,
  decorrelatedJitterDelay,
  exponentialDelay,
  fullJitterDelay,
  resolveBackoff,
} from './backoff.ts';
export {
  type BreakerMode,
  type CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitSnapshot,
  type CircuitState,
  createCircuitBreaker,
} from './breaker.ts';
export {
  createRetryBudget,
  type RetryBudget,
  type RetryBudgetOptions,
  type RetryBudgetSnapshot,
} from './budget.ts';
export { type Bulkhead, type BulkheadOptions, type BulkheadSnapshot, createBulkhead } from './bulkhead.ts';
export { deadlineOf, withDeadline } from './deadline.ts';
export {
  BulkheadFull,
  CircuitOpen,
  DeadlineExceeded,
  PacingQueueFull,
  PacingWaitExceeded,
} from './errors.ts';
export {
  createPacer,
  type Pacer,
  type PacerOptions,
  type PacerSnapshot,
  type PacingRefusal,
} from './pacer.ts';
export { createPacerRate, type PacerRate, type RateSnapshot } from './pacer-rate.ts';
export {
  createMemoryPacingStore,
  type MemoryPacingStore,
  type PacingStore,
  type Reservation,
  type ReserveRequest,
  type ThrottleRequest,
  type ThrottleResult,
} from './pacing-store.ts';
export { type PacingFeedback, pacingFeedback } from './rate-limit-headers.ts';
export { createRetry, type RetryInfo, type RetryOptions } from './retry.ts';
export { parseHttpDate, parseRetryAfter } from './retry-after.ts';
export { FakeClock, flush, seededRandom, sequence, type Tracked, track } from './testing.ts';
export { createTimeout, type TimeoutOptions } from './timeout.ts';
export {
  type CallContext,
  type Clock,
  type FailurePredicate,
  type Operation,
  type Outcome,
  type Policy,
  systemClock,
} from './types.ts';
export { wrap } from './wrap.ts';
