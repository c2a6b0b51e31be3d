import type { UpstreamConfig } from '../../config/schema.ts';
import type { Clock } from '../../resilience/types.ts';

export type HealthCheckConfig = NonNullable<UpstreamConfig['healthCheck']>;

/**
 * Active health of one target (Envoy's HTTP health checker, nginx `health_check passes/fails`):
 * `unhealthyThreshold` failed checks in a row take a healthy target out, `healthyThreshold` passed
 * checks in a row bring an unhealthy one back; a single opposite result resets the streak.
 */
export type ActiveState =
  | { status: 'healthy'; failures: number }
  | { status: 'unhealthy'; successes: number };

export const HEALTHY: ActiveState = { status: 'healthy', failures: 0 };

export function nextActive(
  state: ActiveState,
  passed: boolean,
  thresholds: Pick<HealthCheckConfig, 'healthyThreshold' | 'unhealthyThreshold'>,
): ActiveState {
  if (state.status === 'healthy') {
    if (passed) return HEALTHY;
    const failures = state.failures + 1;
    return failures >= thresholds.unhealthyThreshold
      ? { status: 'unhealthy', successes: 0 }
      : { status: 'healthy', failures };
  }
  if (!passed) return { status: 'unhealthy', successes: 0 };
  const successes = state.successes + 1;
  return successes >= thresholds.healthyThreshold ? HEALTHY : { status: 'unhealthy', successes };
}

/** `[200, '300-399']` → a predicate on status codes (ranges inclusive). */
export function statusMatcher(expect: HealthCheckConfig['expectStatus']): (status: number) => boolean {
  const ranges = expect.map((e) => {
    if (typeof e === 'number') return [e, e] as const;
    const [lo, hi] = e.split('-').map(Number) as [number, number];
    return [lo, hi] as const;
  });
  return (status) => ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

/** Sends one check to a target and resolves with the response status; rejects when none came. */
export type Probe<T> = (target: T, signal: AbortSignal) => Promise<number>;

export interface ActiveChecks<T> {
  state(target: T): ActiveState;
  /** Stops the loops and aborts checks in flight; no result is recorded after it. */
  stop(): void;
}

/**
 * One check loop per target: the next check is scheduled when the previous one ends, so a slow
 * target never has two checks open. The first runs on the next tick rather than at once: a runtime
 * compiled only to validate a config is closed before it, and probes nothing.
 */
export function startActiveChecks<T>(options: {
  targets: readonly T[];
  config: HealthCheckConfig;
  clock: Clock;
  probe: Probe<T>;
  onResult?: (target: T, passed: boolean, state: ActiveState) => void;
}): ActiveChecks<T> {
  const { config, clock, probe } = options;
  const expected = statusMatcher(config.expectStatus);
  const states = new Map<T, ActiveState>(options.targets.map((t) => [t, HEALTHY]));
  const timers = new Set<unknown>();
  const inflight = new Set<AbortController>();
  let stopped = false;
  const later = (fn: () => void, ms: number) => {
    const handle = clock.setTimeout(() => {
      timers.delete(handle);
      fn();
    }, ms);
    timers.add(handle);
  };
  const check = (target: T) => {
    const abort = new AbortController();
    inflight.add(abort);
    const timeout = clock.setTimeout(
      () => abort.abort(new Error('health check timed out')),
      config.timeoutMs,
    );
    probe(target, abort.signal).then(
      (status) => settle(expected(status)),
      () => settle(false),
    );
    function settle(passed: boolean) {
      clock.clearTimeout(timeout);
      inflight.delete(abort);
      if (stopped) return;
      const state = nextActive(states.get(target)!, passed, config);
      states.set(target, state);
      options.onResult?.(target, passed, state);
      later(() => check(target), config.intervalMs);
    }
  };
  for (const target of options.targets) later(() => check(target), 0);
  return {
    state: (target) => states.get(target) ?? HEALTHY,
    stop() {
      stopped = true;
      for (const handle of timers) clock.clearTimeout(handle);
      timers.clear();
      for (const abort of inflight) abort.abort(new Error('health checks stopped'));
    },
  };
}
