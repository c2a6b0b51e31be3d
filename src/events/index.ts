/**
 * The event hub (issue #6; docs/events.md): inbound webhooks, pollers and brokers into one pipeline
 * (verify → dedupe → store → deliveries), and the delivery side. Other areas import from here.
 */
export { BloomFilter, type BloomStats, bloomSizing } from './bloom.ts';
export { acknowledgesEvents, type CompiledEvents, compileEvents } from './compile.ts';
export { EventInvalid, EventNotStored } from './errors.ts';
export {
  type EventHub,
  type EventHubOptions,
  type HubComponent,
  type HubComponentStarter,
  type HubContext,
  type StagedEvents,
  startEventHub,
} from './hub.ts';
export { type EventMetrics, eventMetrics } from './metrics.ts';
export { type EventIntake, EventPipeline, type IncomingEvent, type PipelineOptions } from './pipeline.ts';
export { type CompiledSubscription, compileSubscriptions, matchSubscriptions } from './subscriptions.ts';
export { type WebhookSource, webhookEndpoint, webhookPath } from './webhooks.ts';
