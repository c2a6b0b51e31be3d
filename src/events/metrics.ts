/**
 * Prometheus metrics of the inbound pipeline (Q1, Q47), one set per registry (prom-client refuses a
 * name twice, and tests run several gateways in one process). The Bloom filter's ratios are read at
 * scrape time from whichever pipeline currently owns the registry.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { BloomStats } from './bloom.ts';

export type ReceivedResult = 'stored' | 'duplicate' | 'rejected';

export interface EventMetrics {
  received: Counter<'source' | 'result'>;
  lookupsSaved: Counter<'source'>;
  filterErrors: Counter<'subscription'>;
  /** The filter whose stats the gauges report; the hub's pipeline sets it. */
  bloom: (() => BloomStats) | undefined;
}

const byRegistry = new WeakMap<Registry, EventMetrics>();

export function eventMetrics(registry: Registry): EventMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const gauge = (name: string, help: string, read: (s: BloomStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const stats = metrics.bloom?.();
        if (stats !== undefined) this.set(read(stats));
      },
    });
  const metrics: EventMetrics = {
    received: new Counter({
      name: 'junction_events_received_total',
      help: 'Events offered by sources: stored, recognised as duplicates, or rejected (signature, size, store)',
      labelNames: ['source', 'result'],
      registers,
    }),
    lookupsSaved: new Counter({
      name: 'junction_events_dedupe_lookups_saved_total',
      help: 'Events the Bloom filter knew to be new: each a duplicate lookup in the store not made (Q47)',
      labelNames: ['source'],
      registers,
    }),
    filterErrors: new Counter({
      name: 'junction_events_filter_errors_total',
      help: 'Subscription filters that failed to evaluate on an event (counted as no match)',
      labelNames: ['subscription'],
      registers,
    }),
    bloom: undefined,
  };
  gauge(
    'junction_events_bloom_false_positive_ratio',
    'Share of new ids the Bloom filter answered "maybe" for (observed; the target is events.dedupe.falsePositiveRate)',
    (s) => s.observedFalsePositiveRate,
  );
  gauge(
    'junction_events_bloom_estimated_false_positive_ratio',
    'False-positive rate the filter’s fill predicts; above about twice the target, raise events.dedupe.expectedIds',
    (s) => s.estimatedFalsePositiveRate,
  );
  gauge('junction_events_bloom_fill_ratio', 'Share of the Bloom filter’s bits set', (s) => s.fillRatio);
  byRegistry.set(registry, metrics);
  return metrics;
}
