/**
 * Broker source metrics, made once per registry:
 *
 * - `junction_broker_messages_total{source,result}`: messages consumed by result — `new` and
 *   `duplicate` (stored or already stored, then acknowledged), `retried` (the intake failed: nak /
 *   nack with requeue, the broker sends it again), `rejected` (the event cannot be stored as given:
 *   terminated in JetStream, dead-lettered or dropped by RabbitMQ)
 */
import { Counter, type Registry } from 'prom-client';

export type MessageResult = 'new' | 'duplicate' | 'retried' | 'rejected';

export interface BrokerMetrics {
  messages: Counter<'source' | 'result'>;
}

const byRegistry = new WeakMap<Registry, BrokerMetrics>();

export function brokerMetrics(registry: Registry): BrokerMetrics {
  let m = byRegistry.get(registry);
  if (m !== undefined) return m;
  m = {
    messages: new Counter({
      name: 'junction_broker_messages_total',
      help: 'Messages consumed from a broker source by result (new, duplicate, retried, rejected)',
      labelNames: ['source', 'result'],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
