import { call } from './async.ts';
import type { Operation, Policy } from './types.ts';

/**
 * Stacks policies into one (cockatiel's `wrap`): the first is outermost. Each layer runs the next
 * inside its own operation and hands it the signal and attempt number it was given, so a deadline's
 * abort reaches the innermost call and `ctx.attempt` counts the retry layer's tries below it.
 *
 * For an upstream call: deadline → retry (with budget) → breaker → bulkhead → per-try timeout.
 * Every retry then passes the breaker (it stops retries into an open circuit, and counts each try)
 * and takes a bulkhead slot only while a try runs, not while it waits; the per-try timeout bounds
 * one try and the deadline bounds them all.
 *
 * @example
 * const policy = wrap(deadline, retry, breaker, bulkhead, perTry);
 * const res = await policy.execute(({ signal, attempt }) => send(signal, attempt), req.signal);
 */
export function wrap<T>(...policies: Policy<T>[]): Policy<T> {
  const layer = (
    index: number,
    fn: Operation<T>,
    signal: AbortSignal | undefined,
    attempt: number,
  ): Promise<T> => {
    const policy = policies[index];
    if (policy === undefined) return call(fn, { attempt, signal: signal ?? new AbortController().signal });
    return policy.execute((ctx) => layer(index + 1, fn, ctx.signal, ctx.attempt), signal, attempt);
  };
  return {
    execute: (fn, signal, attempt = 1) => layer(0, fn, signal, attempt),
  };
}
