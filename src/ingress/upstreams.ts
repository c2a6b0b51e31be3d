/**
 * Upstream connection pools (Q34): one undici Pool per target, keep-alive, a connection limit, and
 * a counting connector so `/metrics` can show connections opened against requests sent — the
 * number that shows pooling at work (a healthy pool opens a handful for thousands of requests).
 *
 * Pools outlive config reloads: a reloaded upstream with the same settings is kept whole (health
 * state included); one whose balancing or health settings changed is rebuilt but adopts the pools of
 * the targets it still has when their pool settings are unchanged; the other pools are closed once
 * their in-flight requests finish. Balancing and health live in ./balancing/.
 */
import { createHash } from 'node:crypto';
import { buildConnector, Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.ts';
import type { CoreMetrics } from '../core/metrics.ts';
import type { RequestContext } from '../core/policy.ts';
import type { Clock } from '../resilience/types.ts';
import { type Balancer, createBalancer, type Probe, type TargetHealth } from './balancing/index.ts';
import { upstreamTls } from './tls.ts';

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
  /** Per target: health, ejection and load, for the admin API. */
  snapshot(): TargetSnapshot[];
  /** Stops health checks, then closes the pools this upstream owns once their requests finish. */
  close(): Promise<void>;
  /** Key of every setting; a reload keeps the Upstream object when its key is unchanged. */
  readonly key: string;
}

export interface TargetSnapshot extends TargetHealth {
  id: string;
  origin: string;
  inflight: number;
  requestsSent: number;
  connectionsOpened: number;
}

export interface UpstreamOptions {
  /** The upstream this one replaces on a reload: its pools are adopted where settings allow. */
  previous?: Upstream;
  clock?: Clock;
  /** Replaces the HTTP health check (tests). */
  probe?: Probe<Target>;
}

function upstreamKey(name: string, config: UpstreamConfig): string {
  const { balance, healthCheck, outlierDetection } = config;
  return JSON.stringify([poolKey(name, config), targetUrls(config), balance, healthCheck, outlierDetection]);
}

/** What a target's pool is built from, besides its origin; TLS by content, so rotated files rebuild it. */
function poolKey(name: string, config: UpstreamConfig): string {
  return JSON.stringify([config.pool, config.timeouts, upstreamTls(name, config)?.key]);
}

function targetUrls(config: UpstreamConfig): string[] {
  return config.targets.map((t) => (typeof t === 'string' ? t : t.url).replace(/\/$/, ''));
}

/** The pool key each target was built with, and the upstream that closes its pool. */
const built = new WeakMap<Target, { poolKey: string; owner: Upstream }>();

export function createUpstream(
  name: string,
  config: UpstreamConfig,
  metrics: CoreMetrics,
  options: UpstreamOptions = {},
): Upstream {
  const openedCounter = metrics.upstreamConnections.labels({ upstream: name });
  const pk = poolKey(name, config);
  const adoptable = new Map(
    (options.previous?.name === name ? options.previous.targets : [])
      .filter((t) => built.get(t)?.poolKey === pk)
      .map((t) => [t.origin, t]),
  );
  const targets = targetUrls(config).map(
    (origin): Target => adoptable.get(origin) ?? newTarget(name, origin, config, () => openedCounter.inc()),
  );
  const balancer: Balancer<Target> = createBalancer({
    upstream: name,
    targets,
    config,
    registry: metrics.registry,
    clock: options.clock,
    probe: options.probe,
    tls: upstreamTls(name, config)?.options,
  });
  const requestsCounter = metrics.upstreamRequests.labels({ upstream: name });
  let closing: Promise<void> | undefined;
  const upstream: Upstream = {
    name,
    targets,
    timeouts: config.timeouts,
    key: upstreamKey(name, config),
    pick: (ctx) => balancer.pick(ctx),
    sent(target) {
      target.stats.requestsSent++;
      target.inflight++;
      requestsCounter.inc();
    },
    done(target, failed) {
      target.inflight--;
      balancer.done(target, failed);
    },
    snapshot: () =>
      targets.map((t) => ({
        id: t.id,
        origin: t.origin,
        ...balancer.health(t),
        inflight: t.inflight,
        requestsSent: t.stats.requestsSent,
        connectionsOpened: t.stats.connectionsOpened,
      })),
    close() {
      closing ??= (async () => {
        await balancer.close();
        const owned = targets.filter((t) => built.get(t)?.owner === upstream);
        await Promise.all(owned.map((t) => t.pool.close().catch(() => {})));
      })();
      return closing;
    },
  };
  for (const t of targets) built.set(t, { poolKey: pk, owner: upstream });
  return upstream;
}

function newTarget(name: string, origin: string, config: UpstreamConfig, onConnection: () => void): Target {
  const stats = { connectionsOpened: 0, requestsSent: 0 };
  const base = buildConnector({
    timeout: config.timeouts.connectMs,
    keepAlive: true,
    keepAliveInitialDelay: 60_000,
    // CA bundle, client certificate (mTLS), servername; used by the connector for https: origins only.
    ...upstreamTls(name, config)?.options,
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
          onConnection();
        }
        (cb as (e: Error | null, s: unknown) => void)(err, socket);
      }),
  });
  return { id: targetId(origin), origin, host: new URL(origin).host, pool, stats, inflight: 0 };
}

/** Builds the upstreams of a new config, reusing the previous config's upstreams and pools where nothing changed. */
export function buildUpstreams(
  configs: Record<string, UpstreamConfig>,
  metrics: CoreMetrics,
  previous: Map<string, Upstream> | undefined,
): { upstreams: Map<string, Upstream>; retired: Upstream[] } {
  const upstreams = new Map<string, Upstream>();
  for (const [name, config] of Object.entries(configs)) {
    const old = previous?.get(name);
    upstreams.set(
      name,
      old && old.key === upstreamKey(name, config)
        ? old
        : createUpstream(name, config, metrics, { previous: old }),
    );
  }
  const retired = [...(previous?.values() ?? [])].filter((u) => upstreams.get(u.name) !== u);
  return { upstreams, retired };
}

/** Stops health checks and lets in-flight requests finish (`close`), then frees the sockets. */
export async function closeUpstreams(upstreams: Iterable<Upstream>): Promise<void> {
  await Promise.all([...upstreams].map((u) => u.close()));
}

/** 10 hex characters of SHA-256 over the origin: stable across restarts and nodes, opaque to clients. */
export function targetId(origin: string): string {
  return createHash('sha256').update(origin).digest('hex').slice(0, 10);
}
