/**
 * Event destinations (issue #6; Q24, Q31, Q40): deliver stored events to an HTTP endpoint, NATS
 * JetStream or RabbitMQ and classify the outcome for the delivery worker. docs/events-delivery.md.
 */

export { type Batcher, type BatcherOptions, createBatcher } from './batcher.ts';
export {
  DestinationAborted,
  DestinationAddressForbidden,
  DestinationEventInvalid,
  DestinationGone,
  DestinationRefused,
  DestinationStatus,
  DestinationTimeout,
  DestinationUnreachable,
  DestinationUnroutable,
} from './errors.ts';
export { createDestination, type DestinationOptions, parseDestinationConfig } from './factory.ts';
export { createHttpDestination, type HttpDestinationOptions, MAX_ERROR_BODY_BYTES } from './http.ts';
export { createNatsDestination } from './nats.ts';
export { outcomeOf } from './outcome.ts';
export { createRabbitMqDestination } from './rabbitmq.ts';
export {
  type BatchConfig,
  BatchSchema,
  DEFAULT_RETRY_STATUSES,
  type DestinationConfig,
  DestinationSchema,
  type HttpDestinationConfig,
  HttpDestinationSchema,
  type NatsDestinationConfig,
  NatsDestinationSchema,
  type RabbitMqDestinationConfig,
  RabbitMqDestinationSchema,
} from './schema.ts';
export type { Delivered, DeliveryOutcome, Destination, OutgoingEvent, Reject, Retry } from './types.ts';
