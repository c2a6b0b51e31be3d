/**
 * `junction_idempotency_requests_total{route,result}`. prom-client refuses a second metric of one
 * name in a registry, and every route with `core.idempotency` (and every reload) builds the policy
 * again, so the counter is made once per registry; a WeakMap lets a test's registry go.
 *
 * Results: `new` (took the lease and went upstream), `replayed` (answered from the stored response),
 * `conflict` (409, still in flight), `mismatch` (422, reused with another request), `error` (503,
 * the store could not be asked).
 */
import { Counter, type Registry } from 'prom-client';

export type IdempotencyResult = 'new' | 'replayed' | 'conflict' | 'mismatch' | 'error';

const byRegistry = new WeakMap<Registry, Counter<'route' | 'result'>>();

function counter(registry: Registry): Counter<'route' | 'result'> {
  let c = byRegistry.get(registry);
  if (c === undefined) {
    c = new Counter({
      name: 'junction_idempotency_requests_total',
      help: 'Requests with an Idempotency-Key seen by core.idempotency, by route and result (new, replayed, conflict, mismatch, error)',
      labelNames: ['route', 'result'],
      registers: [registry],
    });
    byRegistry.set(registry, c);
  }
  return c;
}

/** Label children looked up once per route: `labels()` hashes its arguments on every call. */
export function routeCounter(registry: Registry, route: string): (result: IdempotencyResult) => void {
  const c = counter(registry);
  const children = new Map<IdempotencyResult, { inc(): void }>();
  return (result) => {
    let child = children.get(result);
    if (child === undefined) {
      child = c.labels({ route, result });
      children.set(result, child);
    }
    child.inc();
  };
}
