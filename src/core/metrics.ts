/**
 * Prometheus metrics with prom-client, one registry per gateway process so tests can run several.
 * Label children are cached per route (STYLE: allocation-light hot path): `labels()` hashes its
 * arguments on every call, so the access path looks them up in a Map keyed by status instead.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface CoreMetrics {
  registry: Registry;
  /**
   * Request counts not yet handed to `requests`: a plain integer per label set, added at scrape
   * time by the counter's `collect()`. prom-client hashes the labels on every `inc()`, even on a
   * child from `labels()`; this keeps the per-request cost to one addition.
   */
  requestCounts: Map<string, { labels: Record<'route' | 'upstream' | 'status', string>; n: number }>;
  /** Read at scrape time for `junction_requests_in_flight`; the listener installs it. */
  inflightNow: () => number;
  requests: Counter<'route' | 'upstream' | 'status'>;
  duration: Histogram<'route' | 'upstream' | 'status'>;
  inflight: Gauge;
  upstreamConnections: Counter<'upstream'>;
  upstreamRequests: Counter<'upstream'>;
  upstreamErrors: Counter<'upstream' | 'code'>;
  configReloads: Counter<'result'>;
}

/** Seconds; spans sub-millisecond proxying to slow upstreams. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): CoreMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'junction_' });
  const registers = [registry];
  const requestCounts: CoreMetrics['requestCounts'] = new Map();
  const metrics: CoreMetrics = {
    registry,
    requestCounts,
    inflightNow: () => 0,
    requests: new Counter({
      name: 'junction_requests_total',
      help: 'Requests answered, by route, upstream and status',
      labelNames: ['route', 'upstream', 'status'],
      registers,
      collect() {
        for (const entry of requestCounts.values()) {
          if (entry.n === 0) continue;
          this.inc(entry.labels, entry.n);
          entry.n = 0;
        }
      },
    }),
    duration: new Histogram({
      name: 'junction_request_duration_seconds',
      help: 'Time from request arrival to the end of the response, by route, upstream and status',
      labelNames: ['route', 'upstream', 'status'],
      buckets: BUCKETS,
      registers,
    }),
    inflight: new Gauge({
      name: 'junction_requests_in_flight',
      help: 'Requests being served',
      registers,
      collect() {
        this.set(metrics.inflightNow());
      },
    }),
    upstreamConnections: new Counter({
      name: 'junction_upstream_connections_opened_total',
      help: 'TCP connections opened to upstream targets (Q34: compare with junction_upstream_requests_total)',
      labelNames: ['upstream'],
      registers,
    }),
    upstreamRequests: new Counter({
      name: 'junction_upstream_requests_total',
      help: 'Requests sent to upstream targets',
      labelNames: ['upstream'],
      registers,
    }),
    upstreamErrors: new Counter({
      name: 'junction_upstream_errors_total',
      help: 'Upstream calls that failed without a response, by error code',
      labelNames: ['upstream', 'code'],
      registers,
    }),
    configReloads: new Counter({
      name: 'junction_config_reloads_total',
      help: 'Configuration reloads by result (applied, rejected)',
      labelNames: ['result'],
      registers,
    }),
  };
  return metrics;
}

export interface RequestObserver {
  observe(upstream: string, status: number, seconds: number): void;
}

/** Per-route cache of the request count entry and histogram child for each upstream and status. */
export function routeObserver(metrics: CoreMetrics, route: string): RequestObserver {
  const children = new Map<string, { count: { n: number }; hist: { observe(v: number): void } }>();
  return {
    observe(upstream, status, seconds) {
      const key = `${upstream}\0${status}`;
      let child = children.get(key);
      if (child === undefined) {
        const labels = { route, upstream, status: String(status) };
        const countKey = `${route}\0${key}`;
        let count = metrics.requestCounts.get(countKey);
        if (count === undefined) {
          count = { labels, n: 0 };
          metrics.requestCounts.set(countKey, count);
        }
        child = { count, hist: metrics.duration.labels(labels) };
        children.set(key, child);
      }
      child.count.n++;
      child.hist.observe(seconds);
    },
  };
}
