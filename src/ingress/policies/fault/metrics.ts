/**
 * `junction_faults_injected_total{route,kind}`. prom-client refuses a second metric of the same name
 * in one registry, and every route with `core.fault` (and every reload) builds the policy again, so
 * the counter is created once per registry and shared; a WeakMap lets a test's registry go.
 */
import { Counter, type Registry } from 'prom-client';

export type FaultKind = 'delay' | 'abort';

const counters = new WeakMap<Registry, Counter<'route' | 'kind'>>();

export function faultCounter(registry: Registry): Counter<'route' | 'kind'> {
  let counter = counters.get(registry);
  if (counter === undefined) {
    counter = new Counter({
      name: 'junction_faults_injected_total',
      help: 'Faults injected by core.fault, by route and kind (delay, abort)',
      labelNames: ['route', 'kind'],
      registers: [registry],
    });
    counters.set(registry, counter);
  }
  return counter;
}
