/**
 * Cache metrics. prom-client refuses a second metric of one name in a registry, and every route
 * with `core.cache` (and every reload) builds the policy again, so the metrics are made once per
 * registry; a WeakMap lets a test's registry go.
 *
 * - `junction_cache_requests_total{route,result}`: hit, miss, stale, revalidated, bypass
 * - `junction_cache_coalesced_total{route}`: requests that waited for another's upstream call
 * - `junction_cache_stored_bytes`: bytes held by the in-process stores, read at scrape time
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CacheResult } from './status.ts';
import type { CacheStore } from './store.ts';

export interface CacheMetrics {
  requests: Counter<'route' | 'result'>;
  coalesced: Counter<'route'>;
  /** Stores whose size the gauge adds up. */
  stores: Set<CacheStore>;
}

const byRegistry = new WeakMap<Registry, CacheMetrics>();

export function cacheMetrics(registry: Registry): CacheMetrics {
  let m = byRegistry.get(registry);
  if (m !== undefined) return m;
  const stores = new Set<CacheStore>();
  m = {
    stores,
    requests: new Counter({
      name: 'junction_cache_requests_total',
      help: 'Requests seen by core.cache, by route and result (hit, miss, stale, revalidated, bypass)',
      labelNames: ['route', 'result'],
      registers: [registry],
    }),
    coalesced: new Counter({
      name: 'junction_cache_coalesced_total',
      help: "Requests that waited for another request's upstream call instead of making their own",
      labelNames: ['route'],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'junction_cache_stored_bytes',
    help: 'Bytes held by in-process cache stores (Redis stores are not counted)',
    registers: [registry],
    collect() {
      let total = 0;
      for (const s of stores) total += s.storedBytes() ?? 0;
      this.set(total);
    },
  });
  byRegistry.set(registry, m);
  return m;
}

export interface RouteCounters {
  count(result: CacheResult): void;
  coalesced(): void;
}

/** Label children looked up once per route: `labels()` hashes its arguments on every call. */
export function routeCounters(m: CacheMetrics, route: string): RouteCounters {
  const results = new Map<CacheResult, { inc(): void }>();
  const coalesced = m.coalesced.labels({ route });
  return {
    count(result) {
      let child = results.get(result);
      if (child === undefined) {
        child = m.requests.labels({ route, result });
        results.set(result, child);
      }
      child.inc();
    },
    coalesced: () => coalesced.inc(),
  };
}
