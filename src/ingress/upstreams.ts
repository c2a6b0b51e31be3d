/**
 * Upstream connection pools (Q34): one undici Pool per target, keep-alive, a connection limit, and
 * a counting connector so `/metrics` can show connections opened against requests sent — the
 * number that shows pooling at work (a healthy pool opens a handful for thousands of requests).
 *
 * Pools outlive config reloads: a reloaded upstream with the same targets and pool settings keeps
 * its warm connections; the others are closed once their in-flight requests finish.
 */
import { createHash } from 'node:crypto';
import { buildConnector, Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.ts';
import type { CoreMetrics } from '../core/metrics.ts';
import type { RequestContext } from '../core/policy.ts';

export interface Target {
  /** Stable id derived from the origin (the sticky-session cookie names it). */
  id: string;
  /** `http://host:port` */
  origin: string;
  /** `host:port`, used for the Host header when the client's is not preserved. */
  host: string;
  pool: Pool;
  stats: { connectionsOpened: number; requestsSent: number };
  /** Requests sent and not yet finished (least-request balancing reads it). */
  inflight: number;
}

/** What a balancer decided for one request. */
export interface Picked {
  target: Target;
  /** A `Set-Cookie` value to add to the response (sticky sessions). */
  setCookie?: string;
}

export interface Upstream {
  name: string;
  targets: Target[];
  timeouts: UpstreamConfig['timeouts'];
  /** The target for this request, or undefined when no target is healthy (the caller answers 503). */
  pick(ctx: RequestContext): Picked | undefined;
  /** Counts a request sent to `target` (per target and in `junction_upstream_requests_total`). */
  sent(target: Target): void;
  /** The exchange with `target` ended; `failed` feeds passive health (outlier ejection). */
  done(target: Target, failed: boolean): void;
  /** Key of the settings that shape the pools; equal keys may share pools across reloads. */
  readonly key: string;
}

function upstreamKey(config: UpstreamConfig): string {
  return JSON.stringify([targetUrls(config), config.pool, config.timeouts]);
}

function targetUrls(config: UpstreamConfig): string[] {
  return config.targets.map((t) => (typeof t === 'string' ? t : t.url).replace(/\/$/, ''));
}

export function createUpstream(name: string, config: UpstreamConfig, metrics: CoreMetrics): Upstream {
  const openedCounter = metrics.upstreamConnections.labels({ upstream: name });
  const targets = targetUrls(config).map((origin): Target => {
    const stats = { connectionsOpened: 0, requestsSent: 0 };
    const base = buildConnector({
      timeout: config.timeouts.connectMs,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
    });
    const pool = new Pool(origin, {
      connections: config.pool.connections,
      pipelining: config.pool.pipelining,
      keepAliveTimeout: config.pool.keepAliveTimeoutMs,
      headersTimeout: config.timeouts.firstByteMs,
      bodyTimeout: config.timeouts.idleMs,
      connect: (opts, cb) =>
        base(opts, (err, socket) => {
          if (!err) {
            stats.connectionsOpened++;
            openedCounter.inc();
          }
          (cb as (e: Error | null, s: unknown) => void)(err, socket);
        }),
    });
    return { id: targetId(origin), origin, host: new URL(origin).host, pool, stats, inflight: 0 };
  });
  let next = 0;
  const requestsCounter = metrics.upstreamRequests.labels({ upstream: name });
  return {
    sent(target) {
      target.stats.requestsSent++;
      target.inflight++;
      requestsCounter.inc();
    },
    done(target) {
      target.inflight--;
    },
    name,
    targets,
    timeouts: config.timeouts,
    key: upstreamKey(config),
    pick() {
      const target = targets[next]!;
      next = (next + 1) % targets.length;
      return { target };
    },
  };
}

/** Builds the upstreams of a new config, reusing the previous config's pools where nothing changed. */
export function buildUpstreams(
  configs: Record<string, UpstreamConfig>,
  metrics: CoreMetrics,
  previous: Map<string, Upstream> | undefined,
): { upstreams: Map<string, Upstream>; retired: Upstream[] } {
  const upstreams = new Map<string, Upstream>();
  for (const [name, config] of Object.entries(configs)) {
    const old = previous?.get(name);
    upstreams.set(name, old && old.key === upstreamKey(config) ? old : createUpstream(name, config, metrics));
  }
  const retired = [...(previous?.values() ?? [])].filter((u) => upstreams.get(u.name) !== u);
  return { upstreams, retired };
}

/** Lets in-flight requests finish (`close`), then frees the sockets. */
export async function closeUpstreams(upstreams: Iterable<Upstream>): Promise<void> {
  await Promise.all([...upstreams].flatMap((u) => u.targets.map((t) => t.pool.close().catch(() => {}))));
}

/** 10 hex characters of SHA-256 over the origin: stable across restarts and nodes, opaque to clients. */
export function targetId(origin: string): string {
  return createHash('sha256').update(origin).digest('hex').slice(0, 10);
}
