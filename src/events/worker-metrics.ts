/**
 * The delivery worker's Prometheus metrics, registered once per registry (a process can run several
 * workers, e.g. a test with two). The queue depth is read from the store at scrape time with a
 * capped count, so a long queue never makes a scrape slow.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Store } from '../store/index.ts';

export type DeliveryResult = 'delivered' | 'retried' | 'dead' | 'postponed' | 'lease_lost';

export interface DeliveryMetrics {
  deliveries: Counter<'subscription' | 'outcome'>;
  duration: Histogram<'subscription'>;
  dead: Counter<'subscription' | 'code'>;
  /** The stores the depth gauge reads; a worker adds its own while it runs. */
  stores: Set<Store>;
}

/** Counted up to this per status: beyond it the gauge says "at least". */
export const DEPTH_CAP = 100_000;
const STATUSES = ['pending', 'leased', 'dead'] as const;
/** Seconds; from a local receiver's milliseconds to a slow endpoint's timeout. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const byRegistry = new WeakMap<Registry, DeliveryMetrics>();

export function deliveryMetrics(registry: Registry): DeliveryMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const stores = new Set<Store>();
  const metrics: DeliveryMetrics = {
    stores,
    deliveries: new Counter({
      name: 'junction_deliveries_total',
      help: 'Delivery attempts by subscription and outcome (delivered, retried, dead, postponed, lease_lost)',
      labelNames: ['subscription', 'outcome'],
      registers,
    }),
    duration: new Histogram({
      name: 'junction_delivery_duration_seconds',
      help: 'Time one delivery attempt took, by subscription',
      labelNames: ['subscription'],
      buckets: BUCKETS,
      registers,
    }),
    dead: new Counter({
      name: 'junction_deliveries_dead_total',
      help: 'Deliveries moved to the dead letter queue, by subscription and the last error code (destination_gone: disable the subscription)',
      labelNames: ['subscription', 'code'],
      registers,
    }),
  };
  new Gauge({
    name: 'junction_delivery_queue_depth',
    help: `Deliveries in the store by status (pending, leased, dead), counted up to ${DEPTH_CAP}`,
    labelNames: ['status'],
    registers,
    async collect() {
      const store = stores.values().next().value;
      if (store === undefined) return;
      for (const status of STATUSES) {
        try {
          this.labels({ status }).set(await store.deliveries.count(status, DEPTH_CAP));
        } catch {
          // The store is closing or unreachable: keep the last value; /readyz reports the store.
        }
      }
    },
  });
  byRegistry.set(registry, metrics);
  return metrics;
}
