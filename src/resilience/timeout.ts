import { JunctionError } from '../core/errors.ts';
import { call } from './async.ts';
import { DeadlineExceeded } from './errors.ts';
import { type Clock, type Policy, systemClock } from './types.ts';
import { checkDelay } from './validate.ts';

export interface TimeoutOptions<T> {
  /** Time the operation may take, in milliseconds (1 to 2^31−1). */
  ms: number;
  clock?: Clock;
  /** The error to reject with when time runs out; default: `deadline_exceeded` (504). */
  error?: () => Error;
  /**
   * Receives a value the operation produced after the timeout had already rejected (a response that
   * raced the timer), so the caller can free it — e.g. destroy the response body.
   */
  discard?: (value: T) => void;
}

/**
 * Bounds an operation in time. The operation gets a child `AbortSignal`, linked to the outer one,
 * that aborts when `ms` pass; the call then rejects at once rather than waiting for the operation to
 * notice (cockatiel's "aggressive" timeout), so a stuck upstream cannot hold the caller. The timer
 * and the listener on the outer signal are removed as soon as the call settles.
 *
 * Stack it twice: outermost as the overall deadline of a request (it aborts retries' waits and
 * queued bulkhead calls too), innermost as the per-try timeout.
 *
 * @example
 * const perTry = createTimeout<Response>({ ms: 2_000 });
 * const res = await perTry.execute(({ signal }) => fetch(url, { signal }), req.signal);
 */
export function createTimeout<T>(options: TimeoutOptions<T>): Policy<T> {
  const ms = checkDelay('timeout ms', options.ms, { allowZero: false });
  const clock = options.clock ?? systemClock;
  const makeError =
    options.error ??
    (() =>
      new JunctionError(DeadlineExceeded, `no answer within ${ms} ms`, { extensions: { timeoutMs: ms } }));

  return {
    execute(fn, signal, attempt = 1) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const controller = new AbortController();
      return new Promise<T>((resolve, reject) => {
        let settled = false;
        const settle = () => {
          settled = true;
          clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        const onAbort = () => {
          if (settled) return;
          settle();
          const reason: unknown = signal?.reason;
          reject(reason);
          controller.abort(reason);
        };
        const timer = clock.setTimeout(() => {
          if (settled) return;
          settle();
          const error = makeError();
          reject(error);
          controller.abort(error);
        }, ms);
        signal?.addEventListener('abort', onAbort, { once: true });

        call(fn, { attempt, signal: controller.signal }).then(
          (value) => {
            if (!settled) {
              settle();
              resolve(value);
            } else {
              options.discard?.(value);
            }
          },
          (error: unknown) => {
            if (settled) return;
            settle();
            reject(error);
          },
        );
      });
    },
  };
}
