/** Read-only views of a runtime snapshot, for the admin API. */
import type { Runtime } from './runtime.ts';
import type { Upstream } from './upstreams.ts';

export interface RouteSummary {
  name: string;
  path: string;
  methods: string[];
  handler: 'proxy' | 'respond';
  upstream: string | null;
  policies: string[];
  version: string | null;
}

export interface UpstreamSummary {
  name: string;
  /** Circuit breaker, bulkhead, retry budget and pacer state (absent parts are not configured). */
  resilience: { circuitBreaker?: unknown; bulkhead?: unknown; retryBudget?: unknown; pacer?: unknown };
  targets: {
    id: string;
    origin: string;
    /** In rotation: not ejected and, with active checks, passing them. */
    healthy: boolean;
    ejectedUntil: string | null;
    consecutiveFailures: number;
    inflight: number;
    connectionsOpened: number;
    requestsSent: number;
    pool: Record<string, number>;
  }[];
}

export function routeSummaries(rt: Runtime): RouteSummary[] {
  return rt.config.routes.map((r) => {
    const policies = { ...rt.config.defaults.policies, ...r.policies };
    return {
      name: r.name,
      path: r.match.path,
      methods: r.match.methods ?? ['*'],
      handler: r.proxy ? 'proxy' : 'respond',
      upstream: r.proxy?.upstream ?? null,
      policies: Object.entries(policies)
        .filter(([, v]) => v !== false)
        .map(([k]) => k),
      version: r.match.version ? `${r.match.version.api}@${r.match.version.is}` : null,
    };
  });
}

export function upstreamSummaries(rt: Runtime): UpstreamSummary[] {
  return [...rt.upstreams.values()].map((u) => summarize(rt, u));
}

function summarize(rt: Runtime, u: Upstream): UpstreamSummary {
  const health = u.snapshot();
  return {
    name: u.name,
    resilience: resilienceSummary(rt, u.name),
    targets: u.targets.map((t, i) => {
      const s = t.pool.stats;
      const h = health[i]!;
      return {
        id: t.id,
        origin: t.origin,
        healthy: h.healthy,
        ejectedUntil: h.ejectedUntil === undefined ? null : new Date(h.ejectedUntil).toISOString(),
        consecutiveFailures: h.consecutiveFailures,
        inflight: t.inflight,
        connectionsOpened: t.stats.connectionsOpened,
        requestsSent: t.stats.requestsSent,
        pool: {
          connected: s.connected,
          free: s.free,
          pending: s.pending,
          running: s.running,
          queued: s.queued,
        },
      };
    }),
  };
}

function resilienceSummary(rt: Runtime, name: string): UpstreamSummary['resilience'] {
  const r = rt.resilience.get(name);
  return {
    circuitBreaker: r?.breaker?.snapshot(),
    bulkhead: r?.bulkhead?.snapshot(),
    retryBudget: r?.budget?.snapshot(),
    pacer: r?.pacer?.snapshot(),
  };
}
