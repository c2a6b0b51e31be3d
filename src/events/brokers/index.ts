/**
 * Brokers as event sources: a NATS JetStream stream or a RabbitMQ queue consumed into the event
 * pipeline, each message acknowledged once its event is stored. See docs/events.md "Pull sources and
 * brokers".
 */
export { type BrokersComponent, startBrokersComponent } from './component.ts';
export {
  type BrokerSources,
  type BrokerSourcesOptions,
  brokerConfigIssues,
  startBrokerSources,
} from './sources.ts';
export { compileEventType } from './template.ts';
export type { BrokerSource } from './types.ts';
