import { Counter, Gauge, type Registry } from 'prom-client';

export interface TargetHealthReport {
  origin: string;
  healthy: boolean;
}

export interface BalancingMetrics {
  ejections: Counter<'upstream' | 'target'>;
  checks: Counter<'upstream' | 'result'>;
  /**
   * Live upstreams by name, read when `/metrics` is scraped. A reload registers the new upstream
   * under the old name before the old one closes, so `unregister` removes only its own entry.
   */
  register(upstream: string, owner: object, report: () => TargetHealthReport[]): void;
  unregister(upstream: string, owner: object): void;
}

const byRegistry = new WeakMap<Registry, BalancingMetrics>();

/**
 * The balancing metrics of one registry, created on first use. Every reload builds new upstream
 * objects against the same registry, and prom-client throws when a name is registered twice.
 */
export function balancingMetrics(registry: Registry): BalancingMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const live = new Map<string, { owner: object; report: () => TargetHealthReport[] }>();
  const registers = [registry];
  new Gauge({
    name: 'junction_upstream_target_healthy',
    help: '1 when the target is in rotation (not ejected, passing its health checks), else 0',
    labelNames: ['upstream', 'target'],
    registers,
    collect() {
      // Rebuilt at each scrape: targets of upstreams removed by a reload disappear.
      this.reset();
      for (const [upstream, { report }] of live) {
        for (const t of report()) this.set({ upstream, target: t.origin }, t.healthy ? 1 : 0);
      }
    },
  });
  const metrics: BalancingMetrics = {
    ejections: new Counter({
      name: 'junction_upstream_ejections_total',
      help: 'Targets ejected by outlier detection (consecutive failures)',
      labelNames: ['upstream', 'target'],
      registers,
    }),
    checks: new Counter({
      name: 'junction_upstream_health_checks_total',
      help: 'Active health checks by result (pass, fail)',
      labelNames: ['upstream', 'result'],
      registers,
    }),
    register(upstream, owner, report) {
      live.set(upstream, { owner, report });
    },
    unregister(upstream, owner) {
      if (live.get(upstream)?.owner === owner) live.delete(upstream);
    },
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
