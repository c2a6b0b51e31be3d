/**
 * Resilience policies as values with one interface (STYLE.md §6, cockatiel's `IPolicy`): built once
 * per upstream from config, stacked with `wrap()`, an AbortSignal threaded through every call.
 * "What counts as failure" is a function given to each policy, apart from "what to do about it".
 *
 * Nothing here does I/O or reads the wall clock directly: time comes from a `Clock`, so tests drive
 * it with fake timers.
 */

/** Per-call information the policies pass down (attempt number, deadline) and read back. */
export interface CallContext {
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  /** Aborted when the caller gives up or a timeout fires; every layer passes it on. */
  signal: AbortSignal;
}

export type Operation<T> = (ctx: CallContext) => Promise<T>;

export interface Policy<T> {
  /**
   * Runs `fn` under this policy. `attempt` is the try number of the enclosing layer when the policy
   * runs inside `wrap()` (so a breaker or timeout under a retry hands the retry's count on to `fn`);
   * policies that do not count tries pass it through unchanged, and it defaults to 1.
   */
  execute(fn: Operation<T>, signal?: AbortSignal, attempt?: number): Promise<T>;
}

/**
 * How a call ended, as the policies judge it: a value (an HTTP response, even a 503) or an error.
 * `isFailure` decides which of those count against the upstream; a failed value is still returned
 * to the caller when no policy replaces it (the last 503 after the retries is what the client sees).
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export type FailurePredicate<T> = (outcome: Outcome<T>) => boolean;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
