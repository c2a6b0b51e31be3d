import { JunctionError } from '../core/errors.ts';
import { orNever, attempt as tryOnce, unwrap } from './async.ts';
import { CircuitOpen } from './errors.ts';
import { RollingWindow } from './rolling-window.ts';
import { type Clock, type FailurePredicate, type Policy, systemClock } from './types.ts';
import { checkCount, checkDelay, checkRatio } from './validate.ts';

/**
 * `sampling`: opens when at least `failureRatio` of the calls in the last `windowMs` failed, once
 * there were `minimumRequests` of them (opossum's rolling window; resilience4j's and Polly's minimum
 * throughput, so three failures of four calls do not cut off a quiet upstream). `consecutive`: opens
 * after `threshold` failures in a row — better for low-traffic upstreams, where a window rarely fills.
 */
export type BreakerMode =
  | { kind: 'sampling'; failureRatio?: number; minimumRequests?: number; windowMs?: number; buckets?: number }
  | { kind: 'consecutive'; threshold?: number };

/** The breaker's state as a plain value: JSON-serializable, storable, and accepted back as `initialState`. */
export type CircuitState =
  | { state: 'closed' }
  | { state: 'open'; openedAt: number; retryAt: number }
  | { state: 'half-open'; probesInFlight: number; successes: number };

export type CircuitSnapshot = CircuitState & {
  /** What the closed state trips on: calls and failures in the window, or (consecutive) the current run of failures in both. */
  recent: { requests: number; failures: number };
  /** Since the breaker was built: outcomes it sampled, calls it refused, times it opened. */
  totals: { successes: number; failures: number; rejected: number; opened: number };
};

export interface CircuitBreakerOptions<T> {
  /** Default `{ kind: 'sampling', failureRatio: 0.5, minimumRequests: 20, windowMs: 10_000, buckets: 10 }`. */
  mode?: BreakerMode;
  /** How long it stays open before admitting probes. Default 30 000 ms. */
  resetMs?: number;
  /** Calls half-open admits at once; that many successes in a row close it, any failure re-opens it. Default 1. */
  halfOpenProbes?: number;
  /** Which outcomes count against the upstream (e.g. errors and 5xx values, but not `bulkhead_full`). */
  isFailure: FailurePredicate<T>;
  /** Named in the error's detail, e.g. the upstream's name. */
  name?: string;
  initialState?: CircuitState;
  onStateChange?: (from: CircuitState['state'], to: CircuitState['state']) => void;
  clock?: Clock;
}

export interface CircuitBreaker<T> extends Policy<T> {
  snapshot(): CircuitSnapshot;
}

/**
 * Stops calling an upstream that keeps failing, so it can recover and callers fail fast instead of
 * queueing behind it. While open, calls reject at once with `circuit_open` (503, `Retry-After`)
 * without reaching the upstream; after `resetMs` it goes half-open and lets `halfOpenProbes` calls
 * through. Refused calls are not samples, and neither is a call whose caller gave up (its signal
 * aborted): that says nothing about the upstream. Time passing is noticed when the breaker is used
 * (`execute`, `snapshot`); it sets no timers.
 *
 * @example
 * const breaker = createCircuitBreaker<UpstreamResponse>({
 *   mode: { kind: 'consecutive', threshold: 5 },
 *   resetMs: 30_000,
 *   isFailure: (o) => !o.ok || o.value.status >= 500,
 * });
 * const res = await breaker.execute(({ signal }) => send(signal), req.signal);
 */
export function createCircuitBreaker<T>(options: CircuitBreakerOptions<T>): CircuitBreaker<T> {
  const mode = options.mode ?? { kind: 'sampling' };
  const resetMs = checkDelay('breaker resetMs', options.resetMs ?? 30_000);
  const probes = checkCount('breaker halfOpenProbes', options.halfOpenProbes ?? 1, 1);
  const clock = options.clock ?? systemClock;
  const { isFailure } = options;

  const threshold = mode.kind === 'consecutive' ? checkCount('breaker threshold', mode.threshold ?? 5, 1) : 0;
  const sampling = mode.kind === 'sampling';
  const failureRatio = sampling ? checkRatio('breaker failureRatio', mode.failureRatio ?? 0.5, 1) : 1;
  const minimumRequests = sampling ? checkCount('breaker minimumRequests', mode.minimumRequests ?? 20, 1) : 0;
  const buckets = sampling ? checkCount('breaker buckets', mode.buckets ?? 10, 1) : 1;
  const windowMs = sampling
    ? checkDelay('breaker windowMs', mode.windowMs ?? 10_000, { allowZero: false })
    : 1;
  // Calls in A, failures in B.
  const window = new RollingWindow(buckets, windowMs / buckets, clock.now());
  let consecutiveFailures = 0;

  let state: CircuitState = restore(options.initialState);
  // Bumped on every transition: a call admitted under an earlier state reports into nothing.
  let generation = 0;
  const totals = { successes: 0, failures: 0, rejected: 0, opened: 0 };

  const transition = (next: CircuitState) => {
    const from = state.state;
    state = next;
    generation++;
    options.onStateChange?.(from, next.state);
  };
  const open = (now: number) => {
    totals.opened++;
    transition({ state: 'open', openedAt: now, retryAt: now + resetMs });
  };
  const close = (now: number) => {
    window.reset(now);
    consecutiveFailures = 0;
    transition({ state: 'closed' });
  };
  const refresh = (now: number) => {
    if (state.state === 'open' && now >= state.retryAt) {
      transition({ state: 'half-open', probesInFlight: 0, successes: 0 });
    }
  };

  const reject = (waitMs: number) => {
    totals.rejected++;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    const who = options.name === undefined ? 'upstream' : `upstream ${options.name}`;
    const detail = `circuit for ${who} is ${state.state}; retry in ${seconds} s`;
    return new JunctionError(CircuitOpen, detail, {
      headers: { 'retry-after': String(seconds) },
      extensions: { retryAfterMs: Math.max(0, waitMs), state: state.state },
    });
  };

  const record = (now: number, failed: boolean) => {
    if (sampling) {
      window.add(now, 1, failed ? 1 : 0);
      if (!failed) return;
      const requests = window.sumA(now);
      if (requests >= minimumRequests && window.sumB(now) / requests >= failureRatio) open(now);
    } else if (!failed) {
      consecutiveFailures = 0;
    } else if (++consecutiveFailures >= threshold) {
      open(now);
    }
  };

  return {
    async execute(fn, outer, attempt = 1) {
      const now = clock.now();
      refresh(now);
      if (state.state === 'open') throw reject(state.retryAt - now);
      const probe = state.state === 'half-open';
      if (state.state === 'half-open') {
        // Every probe slot taken: its result is due soon, so ask for the minimum wait.
        if (state.probesInFlight >= probes) throw reject(1000);
        state.probesInFlight++;
      }
      const admittedIn = generation;
      const signal = orNever(outer);
      const outcome = await tryOnce(fn, { attempt, signal });

      if (admittedIn === generation) {
        const at = clock.now();
        if (state.state === 'half-open') state.probesInFlight--;
        if (!signal.aborted) {
          const failed = isFailure(outcome);
          if (failed) totals.failures++;
          else totals.successes++;
          if (!probe) record(at, failed);
          else if (failed) open(at);
          else if (state.state === 'half-open' && ++state.successes >= probes) close(at);
        }
      }
      return unwrap(outcome);
    },

    snapshot() {
      const now = clock.now();
      refresh(now);
      const recent = sampling
        ? { requests: window.sumA(now), failures: window.sumB(now) }
        : { requests: consecutiveFailures, failures: consecutiveFailures };
      return { ...state, recent, totals: { ...totals } };
    },
  };
}

function restore(initial: CircuitState | undefined): CircuitState {
  if (initial?.state === 'open')
    return { state: 'open', openedAt: initial.openedAt, retryAt: initial.retryAt };
  // Probes in flight belonged to another process; start the half-open trial afresh.
  if (initial?.state === 'half-open') return { state: 'half-open', probesInFlight: 0, successes: 0 };
  return { state: 'closed' };
}
