import { Counter, Gauge, type Registry } from 'prom-client';

export type DropReason = 'overflow' | 'invalid' | 'closed' | 'shutdown';

export interface AuditMetrics {
  records: Counter<'action' | 'outcome'>;
  dropped: Counter<'reason'>;
  writeErrors: Counter;
  /** Sinks report their queue length at scrape time. */
  track(sink: object, queued: () => number): void;
  untrack(sink: object): void;
}

const byRegistry = new WeakMap<Registry, AuditMetrics>();

/** The audit metrics of one registry, created on first use (prom-client refuses a name twice). */
export function auditMetrics(registry: Registry): AuditMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const live = new Map<object, () => number>();
  new Gauge({
    name: 'junction_audit_queue_length',
    help: 'Audit records recorded but not stored yet',
    registers,
    collect() {
      let n = 0;
      for (const queued of live.values()) n += queued();
      this.set(n);
    },
  });
  const metrics: AuditMetrics = {
    records: new Counter({
      name: 'junction_audit_records_total',
      help: 'Audit records stored, by action and outcome',
      labelNames: ['action', 'outcome'],
      registers,
    }),
    dropped: new Counter({
      name: 'junction_audit_dropped_total',
      help: 'Audit records lost: queue full (overflow), malformed (invalid), recorded after close, or unstored at shutdown',
      labelNames: ['reason'],
      registers,
    }),
    writeErrors: new Counter({
      name: 'junction_audit_write_errors_total',
      help: 'Failed attempts to append a batch of audit records (each is retried)',
      registers,
    }),
    track: (sink, queued) => void live.set(sink, queued),
    untrack: (sink) => void live.delete(sink),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
