import { JunctionError } from '../core/errors.ts';
import { call } from './async.ts';
import { BulkheadFull } from './errors.ts';
import { type CallContext, type Clock, type Operation, type Policy, systemClock } from './types.ts';
import { checkCount, checkDelay } from './validate.ts';

export interface BulkheadOptions {
  /** Operations allowed to run at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot, first come first served. Default 0: refuse at once. */
  maxQueue?: number;
  /** Longest wait in the queue; default none (the overall deadline still bounds it). */
  queueTimeoutMs?: number;
  /** Named in the error's detail, e.g. the upstream's name. */
  name?: string;
  clock?: Clock;
}

export interface BulkheadSnapshot {
  maxConcurrent: number;
  maxQueue: number;
  running: number;
  queued: number;
  /** Calls refused because the queue was full, since the bulkhead was built. */
  rejected: number;
  /** Calls refused after waiting `queueTimeoutMs` in the queue, since the bulkhead was built. */
  timedOut: number;
}

export interface Bulkhead<T> extends Policy<T> {
  snapshot(): BulkheadSnapshot;
}

interface Waiter {
  admit(): void;
}

/**
 * Caps the calls in flight to one upstream, so a slow upstream ties up at most `maxConcurrent`
 * sockets and requests instead of all of them (the bulkhead of Nygard's "Release It!"; Envoy's
 * per-cluster `max_requests` and `max_pending_requests`). Further calls wait in a bounded FIFO
 * queue; when that is full they are refused at once with `bulkhead_full` (503), and a call that waits
 * longer than `queueTimeoutMs` is refused with the same code (`extensions.reason` tells which). A
 * queued call whose signal aborts leaves the queue and rejects with the signal's reason.
 *
 * @example
 * const bulkhead = createBulkhead<UpstreamResponse>({ maxConcurrent: 64, maxQueue: 128, queueTimeoutMs: 1_000 });
 * const res = await bulkhead.execute(({ signal }) => send(signal), req.signal);
 */
export function createBulkhead<T>(options: BulkheadOptions): Bulkhead<T> {
  const maxConcurrent = checkCount('bulkhead maxConcurrent', options.maxConcurrent, 1);
  const maxQueue = checkCount('bulkhead maxQueue', options.maxQueue ?? 0, 0);
  const queueTimeoutMs =
    options.queueTimeoutMs === undefined
      ? undefined
      : checkDelay('bulkhead queueTimeoutMs', options.queueTimeoutMs, { allowZero: false });
  const clock = options.clock ?? systemClock;
  const who = options.name === undefined ? 'upstream' : `upstream ${options.name}`;
  // A Set keeps insertion order (FIFO) and removes an aborted waiter from the middle in O(1).
  const queue = new Set<Waiter>();
  let running = 0;
  let rejected = 0;
  let timedOut = 0;

  const release = () => {
    running--;
    const next: Waiter | undefined = queue.values().next().value;
    if (next !== undefined) {
      queue.delete(next);
      next.admit();
    }
  };
  const run = (fn: Operation<T>, ctx: CallContext): Promise<T> => {
    running++;
    return call(fn, ctx).finally(release);
  };

  return {
    execute(fn, signal, attempt = 1) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const ctx = { attempt, signal: signal ?? new AbortController().signal };
      if (running < maxConcurrent) return run(fn, ctx);
      if (queue.size >= maxQueue) {
        rejected++;
        const detail = `${running} calls to ${who} in flight and ${queue.size} waiting`;
        return Promise.reject(
          new JunctionError(BulkheadFull, detail, {
            extensions: { reason: 'queue_full', maxConcurrent, maxQueue },
          }),
        );
      }
      return new Promise<T>((resolve, reject) => {
        const leave = () => {
          queue.delete(waiter);
          if (timer !== undefined) clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        const waiter: Waiter = {
          admit() {
            leave();
            run(fn, ctx).then(resolve, reject);
          },
        };
        const onAbort = () => {
          leave();
          reject(signal?.reason);
        };
        const timer =
          queueTimeoutMs === undefined
            ? undefined
            : clock.setTimeout(() => {
                leave();
                timedOut++;
                const detail = `timed out after ${queueTimeoutMs} ms in the queue for ${who}`;
                reject(
                  new JunctionError(BulkheadFull, detail, {
                    extensions: { reason: 'queue_timeout', queueTimeoutMs },
                  }),
                );
              }, queueTimeoutMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.add(waiter);
      });
    },

    snapshot() {
      return { maxConcurrent, maxQueue, running, queued: queue.size, rejected, timedOut };
    },
  };
}
