import { defineError } from '../core/errors.ts';

/** A timeout policy fired: the overall deadline or, unless given its own error, the per-try timeout. */
export const DeadlineExceeded = defineError('deadline_exceeded', 504, 'Upstream call exceeded its deadline');

/**
 * The upstream's circuit breaker is open (or half-open with every probe slot taken): the call was
 * refused without reaching the upstream. Carries `Retry-After` (RFC 9110 §10.2.3).
 */
export const CircuitOpen = defineError('circuit_open', 503, 'Circuit breaker is open');

/**
 * The upstream's bulkhead refused the call: every slot busy and the queue full, or the call waited
 * longer than `queueTimeoutMs` in the queue. `extensions.reason` tells which
 * (`queue_full` | `queue_timeout`); one code because the client's remedy is the same.
 */
export const BulkheadFull = defineError('bulkhead_full', 503, 'Upstream concurrency limit reached');

/**
 * The upstream's pacer has `maxQueue` calls waiting for their slots already: the call is refused at
 * once rather than queued. Carries `Retry-After` (an estimate of when the queue has room).
 */
export const PacingQueueFull = defineError('pacing_queue_full', 503, 'Upstream pacing queue is full');

/**
 * The upstream's pacer would have to hold the call longer than `maxWaitMs` to keep the partner under
 * its rate limit (or the partner asked for a pause that long): refused at once, with `Retry-After`.
 */
export const PacingWaitExceeded = defineError(
  'pacing_wait_exceeded',
  503,
  'Upstream pacing wait would exceed its limit',
);
