/**
 * A call's deadline, carried beside its AbortSignal. The signal aborts when the deadline passes; a
 * policy that makes calls wait (the pacer) also needs to know it beforehand, so that a wait that
 * would outlast it is refused at once instead of sitting out the whole deadline to end in a 504.
 * A WeakMap and not a property: signals are platform objects, and this costs nothing on calls
 * without a deadline.
 */
const deadlines = new WeakMap<AbortSignal, number>();

/**
 * @example
 * const waiting = new AbortController();
 * withDeadline(waiting.signal, Date.now() + 4000);
 * await policy.execute(fn, waiting.signal);
 */
export function withDeadline(signal: AbortSignal, at: number): AbortSignal {
  deadlines.set(signal, at);
  return signal;
}

/** When `signal`'s call must be over (the local clock's epoch ms), if it was given a deadline. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal === undefined ? undefined : deadlines.get(signal);
}
