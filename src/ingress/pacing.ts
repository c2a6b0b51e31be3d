/**
 * An upstream's pacer (Q3), built from `resilience.pacing`: the policy from src/resilience/pacer.ts,
 * fed by what the partner's responses say (429, Retry-After, RateLimit headers), on a schedule kept in
 * memory or — `shared: redis` — in Redis for every node (src/cluster). Metrics are registered once
 * per registry; the Redis connection is one per gateway, closed by `closePacing`.
 */
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { connectPacingRedis, createRedisPacingStore } from '../cluster/index.ts';
import type { PacingConfig } from '../config/resilience-schema.ts';
import { throttledWarn } from '../core/logger.ts';
import type { Services } from '../core/services.ts';
import { createPacer, type Pacer, pacingFeedback, systemClock } from '../resilience/index.ts';
import type { Exchange } from './handlers/exchange.ts';

interface PacingMetrics {
  wait: Histogram<'upstream'>;
  rejected: Counter<'upstream' | 'reason'>;
  pauses: Counter<'upstream' | 'reason'>;
  /** Read at scrape time. */
  sources: Map<string, Pacer<Exchange>>;
}

const metricsByRegistry = new WeakMap<Registry, PacingMetrics>();

function metricsFor(registry: Registry): PacingMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  const sources = new Map<string, Pacer<Exchange>>();
  m = {
    sources,
    wait: new Histogram({
      name: 'junction_upstream_pacing_wait_seconds',
      help: 'Time calls waited for their pacing slot (0 when they went at once)',
      labelNames: ['upstream'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    rejected: new Counter({
      name: 'junction_upstream_pacing_rejected_total',
      help: 'Calls the pacer refused: queue_full or wait_exceeded',
      labelNames: ['upstream', 'reason'],
      registers,
    }),
    pauses: new Counter({
      name: 'junction_upstream_pacing_pauses_total',
      help: 'Pauses this node started: throttled (429, 503 with Retry-After) or exhausted (RateLimit remaining 0)',
      labelNames: ['upstream', 'reason'],
      registers,
    }),
  };
  new Gauge({
    name: 'junction_upstream_pacing_queued',
    help: 'Calls waiting for their pacing slot on this node',
    labelNames: ['upstream'],
    registers,
    collect() {
      for (const [name, p] of sources) this.set({ upstream: name }, p.snapshot().queued);
    },
  });
  new Gauge({
    name: 'junction_upstream_pacing_rate_per_second',
    help: 'Calls per second the pacer allows now (adaptive: below the configured rate after throttling)',
    labelNames: ['upstream'],
    registers,
    collect() {
      for (const [name, p] of sources) this.set({ upstream: name }, 1000 / p.snapshot().intervalMs);
    },
  });
  metricsByRegistry.set(registry, m);
  return m;
}

interface Connection {
  client: Redis;
  /** Logs at most one line per 10 s, so an outage does not flood the log. */
  warn(err: unknown): void;
}

/** Redis connections of the gateways' pacers, one per gateway. */
const connections = new WeakMap<Services, Connection>();

function redisFor(services: Services): Connection {
  let c = connections.get(services);
  if (c !== undefined) return c;
  const url = services.redisUrl;
  if (url === undefined) throw new RangeError('pacing.shared redis needs redis.url (or JUNCTION_REDIS_URL)');
  const throttled = throttledWarn(services.logger);
  const warn = (err: unknown) => throttled(err, 'pacing: redis unavailable, pacing on this node alone');
  c = { client: connectPacingRedis(url, 500, warn), warn };
  connections.set(services, c);
  return c;
}

/**
 * @example
 * const pacer = upstreamPacer('partner', { rate: { requests: 100, perMs: 60_000 }, ...defaults }, registry, services);
 */
export function upstreamPacer(
  name: string,
  config: PacingConfig,
  registry: Registry,
  services: Services | undefined,
): Pacer<Exchange> {
  const m = metricsFor(registry);
  let store: Parameters<typeof createPacer>[0]['store'];
  if (config.shared === 'redis') {
    if (services === undefined) throw new RangeError('pacing.shared redis needs the gateway services');
    const { client, warn } = redisFor(services);
    store = createRedisPacingStore({
      client,
      key: config.keyPrefix + (config.key ?? name),
      clock: systemClock,
      onError: warn,
    });
  }
  const pacer = createPacer<Exchange>({
    name,
    requests: config.rate.requests,
    perMs: config.rate.perMs,
    burst: config.burst,
    maxQueue: config.maxQueue,
    maxWaitMs: config.maxWaitMs,
    adaptive: config.adaptive,
    store,
    feedback: (o, now) => (o.ok ? pacingFeedback(o.value.status, o.value.headers, now) : undefined),
    onWait: (ms) => m.wait.labels({ upstream: name }).observe(ms / 1000),
    onReject: (reason) => m.rejected.labels({ upstream: name, reason }).inc(),
    onPause: (reason) => m.pauses.labels({ upstream: name, reason }).inc(),
  });
  m.sources.set(name, pacer);
  return pacer;
}

/** Closes the gateway's pacing connection to Redis, if it opened one; call once at shutdown. */
export async function closePacing(services: Services): Promise<void> {
  const c = connections.get(services);
  if (c === undefined) return;
  connections.delete(services);
  c.client.disconnect();
}
