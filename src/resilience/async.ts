/** Promise plumbing the policies share: calling an operation safely and waiting on the clock. */
import type { CallContext, Clock, Operation, Outcome } from './types.ts';

/** Calls `fn`, turning a synchronous throw into a rejection so every caller handles one path. */
export function call<T>(fn: Operation<T>, ctx: CallContext): Promise<T> {
  try {
    return fn(ctx);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Runs one try and reports how it ended instead of throwing. */
export async function attempt<T>(fn: Operation<T>, ctx: CallContext): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn(ctx) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Hands an outcome back to the caller: a value resolves, an error rejects. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw outcome.error;
}

/** Waits `ms` on `clock`; rejects with the signal's reason as soon as it aborts, clearing the timer. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A signal for callers that passed none, so every layer can rely on `ctx.signal`. */
export function orNever(signal: AbortSignal | undefined): AbortSignal {
  return signal ?? NEVER;
}

/**
 * One signal that never aborts, shared: callers without a signal of their own are the common case on
 * a hot path, and an AbortController each was measurable garbage. Listeners added to it are removed
 * by the same code paths that remove them from real signals.
 */
const NEVER: AbortSignal = new AbortController().signal;
