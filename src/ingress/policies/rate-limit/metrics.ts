/**
 * Rate-limit metrics, made once per registry (prom-client refuses a second metric of one name, and
 * every route with `core.rate-limit` and every reload builds the policy again); a WeakMap lets a
 * test's registry go.
 *
 * - `junction_rate_limit_decisions_total{route,result}`: allowed, limited, error_open (Redis could
 *   not decide and the request passed), error_closed (… and it was refused with 503). Decisions of
 *   the local fallback count as allowed or limited.
 * - `junction_rate_limit_backend_errors_total{route}`: decisions Redis did not give (down, slow,
 *   failing script).
 *
 * Like `junction_requests_total`, the hot path adds to plain integers that the counters' `collect()`
 * hands to prom-client at scrape time: `inc()` hashes its labels on every call.
 */
import { Counter, type Registry } from 'prom-client';

export type RateLimitResult = 'allowed' | 'limited' | 'error_open' | 'error_closed';

interface Pending<L extends string> {
  labels: Record<L, string>;
  n: number;
}

interface RateLimitMetrics {
  decisions: Map<string, Pending<'route' | 'result'>>;
  errors: Map<string, Pending<'route'>>;
}

const byRegistry = new WeakMap<Registry, RateLimitMetrics>();

function flush<L extends string>(counter: Counter<L>, pending: Map<string, Pending<L>>): void {
  for (const p of pending.values()) {
    if (p.n === 0) continue;
    counter.inc(p.labels, p.n);
    p.n = 0;
  }
}

function metricsOf(registry: Registry): RateLimitMetrics {
  const m = byRegistry.get(registry);
  if (m !== undefined) return m;
  const made: RateLimitMetrics = { decisions: new Map(), errors: new Map() };
  new Counter({
    name: 'junction_rate_limit_decisions_total',
    help: 'core.rate-limit decisions by route and result (allowed, limited, error_open, error_closed)',
    labelNames: ['route', 'result'],
    registers: [registry],
    collect() {
      flush(this, made.decisions);
    },
  });
  new Counter({
    name: 'junction_rate_limit_backend_errors_total',
    help: 'Rate-limit decisions the Redis backend could not give (unreachable, timed out, script error)',
    labelNames: ['route'],
    registers: [registry],
    collect() {
      flush(this, made.errors);
    },
  });
  byRegistry.set(registry, made);
  return made;
}

export interface RouteCounters {
  decided(result: RateLimitResult): void;
  backendError(): void;
}

/** One route's counters, looked up once: the request path only adds. */
export function routeCounters(registry: Registry, route: string): RouteCounters {
  const m = metricsOf(registry);
  const results = {} as Record<RateLimitResult, Pending<'route' | 'result'>>;
  for (const result of ['allowed', 'limited', 'error_open', 'error_closed'] as const) {
    const id = `${route}\0${result}`;
    let p = m.decisions.get(id);
    if (p === undefined) {
      p = { labels: { route, result }, n: 0 };
      m.decisions.set(id, p);
    }
    results[result] = p;
  }
  let errors = m.errors.get(route);
  if (errors === undefined) {
    errors = { labels: { route }, n: 0 };
    m.errors.set(route, errors);
  }
  const e = errors;
  return {
    decided: (result) => {
      results[result].n++;
    },
    backendError: () => {
      e.n++;
    },
  };
}
