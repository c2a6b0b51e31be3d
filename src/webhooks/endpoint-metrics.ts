/**
 * Prometheus metrics of outbound endpoint health and limits, registered once per registry. Labels
 * are low-cardinality on purpose — no endpoint or application ids (one series per customer endpoint
 * would not scale); the admin API and logs name the endpoint.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface EndpointHealthMetrics {
  /** Breaker transitions: opened, reopened (a failed trial), closed. */
  breaker: Counter<'transition'>;
  /** Deliveries held back unsent: rate, concurrency, breaker. */
  waits: Counter<'reason'>;
  /** Endpoints disabled by delivery: destination_gone (410), endpoint_failing (auto-disable). */
  disabled: Counter<'reason'>;
  /** Operational events: emitted, duplicate, failed. */
  operational: Counter<'type' | 'result'>;
  /** Read at scrape time: the breakers of the resolvers using this registry. */
  breakerSources: Set<() => { open: number; halfOpen: number }>;
}

const byRegistry = new WeakMap<Registry, EndpointHealthMetrics>();

export function endpointHealthMetrics(registry: Registry): EndpointHealthMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const breakerSources = new Set<() => { open: number; halfOpen: number }>();
  const m: EndpointHealthMetrics = {
    breakerSources,
    breaker: new Counter({
      name: 'junction_webhook_breaker_transitions_total',
      help: 'Per-endpoint circuit breaker transitions: opened, reopened (a failed trial), closed',
      labelNames: ['transition'],
      registers,
    }),
    waits: new Counter({
      name: 'junction_webhook_delivery_waits_total',
      help: 'Outbound deliveries given back unsent because their endpoint was held: rate, concurrency, breaker',
      labelNames: ['reason'],
      registers,
    }),
    disabled: new Counter({
      name: 'junction_webhook_endpoints_disabled_total',
      help: 'Endpoints disabled by delivery: destination_gone (410) or endpoint_failing (auto-disable)',
      labelNames: ['reason'],
      registers,
    }),
    operational: new Counter({
      name: 'junction_webhook_operational_events_total',
      help: 'Operational events (source junction) by type and result: emitted, duplicate, failed',
      labelNames: ['type', 'result'],
      registers,
    }),
  };
  new Gauge({
    name: 'junction_webhook_breakers',
    help: 'Endpoints whose circuit breaker is open or half-open on this node',
    labelNames: ['state'],
    registers,
    collect() {
      let open = 0;
      let halfOpen = 0;
      for (const read of breakerSources) {
        const c = read();
        open += c.open;
        halfOpen += c.halfOpen;
      }
      this.labels({ state: 'open' }).set(open);
      this.labels({ state: 'half-open' }).set(halfOpen);
    },
  });
  byRegistry.set(registry, m);
  return m;
}
