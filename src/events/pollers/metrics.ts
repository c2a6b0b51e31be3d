/**
 * Poller metrics, made once per registry (prom-client refuses a metric name twice; reloads restart
 * pollers):
 *
 * - `junction_polls_total{source,result}`: polls by result — `changed` (new events), `unchanged`
 *   (a 200 with nothing new), `not_modified` (304), `error`, `lease_lost`
 * - `junction_poll_items_total{source,result}`: items read — `new`, `duplicate`, `invalid` (no id,
 *   or refused by the intake)
 * - `junction_poll_errors_total{source,code}`: failed polls by error code (docs/errors.md)
 * - `junction_poll_lease_held{source}`: 1 on the node polling the source, else 0
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type PollResult = 'changed' | 'unchanged' | 'not_modified' | 'error' | 'lease_lost';
export type ItemResult = 'new' | 'duplicate' | 'invalid';

export interface PollerMetrics {
  polls: Counter<'source' | 'result'>;
  items: Counter<'source' | 'result'>;
  errors: Counter<'source' | 'code'>;
  leaseHeld: Gauge<'source'>;
}

const byRegistry = new WeakMap<Registry, PollerMetrics>();

export function pollerMetrics(registry: Registry): PollerMetrics {
  let m = byRegistry.get(registry);
  if (m !== undefined) return m;
  const registers = [registry];
  m = {
    polls: new Counter({
      name: 'junction_polls_total',
      help: 'Polls of a pull source by result (changed, unchanged, not_modified, error, lease_lost)',
      labelNames: ['source', 'result'],
      registers,
    }),
    items: new Counter({
      name: 'junction_poll_items_total',
      help: 'Items read from a pull source by result (new, duplicate, invalid)',
      labelNames: ['source', 'result'],
      registers,
    }),
    errors: new Counter({
      name: 'junction_poll_errors_total',
      help: 'Failed polls of a pull source by error code',
      labelNames: ['source', 'code'],
      registers,
    }),
    leaseHeld: new Gauge({
      name: 'junction_poll_lease_held',
      help: '1 while this node holds the poll lease of the source (only that node polls it)',
      labelNames: ['source'],
      registers,
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
