/**
 * `events:` in junction.yaml — the event hub (docs/events.md): webhook sources verified at the edge,
 * pollers for APIs without webhooks, broker consumers, and the subscriptions that route stored events
 * to destinations. Every source's events go through one pipeline: verify → dedupe → store (the 2xx or
 * the broker ack comes after this) → a delivery per matching subscription.
 */
import Type, { type Static } from 'typebox';
import { DestinationSchema } from '../events/destinations/schema.ts';
import { verifySchema } from '../events/verify/schema.ts';

const Ms = (defaultMs: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 86_400_000, default: defaultMs, description });
const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$', maxLength: 64 });
const TypePattern = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'An event type, or a pattern with `*` for any run of characters (`invoice.*`)',
});

/** A webhook source: `POST <path>` verified with its provider's scheme (Q1). */
export const WebhookSourceSchema = Type.Object(
  {
    path: Type.Optional(
      Type.String({
        pattern: '^/[A-Za-z0-9/_.-]*$',
        maxLength: 256,
        description: 'Where the provider posts; default /hooks/<name>',
      }),
    ),
    verify: verifySchema,
    maxBodyBytes: Type.Integer({
      minimum: 1,
      maximum: 16_777_216,
      default: 1_048_576,
      description: '413 beyond; providers send well under 1 MiB',
    }),
    typeField: Type.Optional(
      Type.String({
        maxLength: 128,
        description:
          "Top-level JSON field holding the event type when the provider's headers do not say it (default: the verifier's, else `type`)",
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);

/** Pull (Q9): an API polled on an interval, its new or changed items turned into events. */
export const PollerSchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', description: 'The list endpoint to poll' }),
    intervalMs: Ms(60_000, 'Time between the end of one poll and the start of the next'),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Sent on every poll' })),
    items: Type.String({
      default: '',
      description:
        'JSON pointer to the array of items in the response (`/data`); empty: the body is the array',
    }),
    id: Type.String({ default: 'id', description: 'Item field that identifies it (the dedupe key)' }),
    type: Type.String({ minLength: 1, maxLength: 128, description: 'Event type given to every item' }),
    version: Type.Optional(
      Type.String({
        description: 'Item field that changes when the item does (`updated_at`): a change is a new event',
      }),
    ),
    cursor: Type.Optional(
      Type.Object(
        {
          param: Type.String({ description: 'Query parameter carrying the cursor (`since`)' }),
          field: Type.String({ description: 'Item field whose last value becomes the next cursor' }),
        },
        { additionalProperties: false },
      ),
    ),
    etag: Type.Boolean({
      default: true,
      description: 'Send If-None-Match with the last ETag; 304 means no news',
    }),
    nextPage: Type.Union([Type.Literal('link'), Type.Literal('none')], {
      default: 'link',
      description: 'Follow RFC 8288 `Link: <…>; rel="next"` pages, or read one page per poll',
    }),
    maxPages: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 20,
      description: 'Pages read per poll at most',
    }),
    rate: Type.Optional(
      Type.Object(
        {
          requests: Type.Integer({ minimum: 1 }),
          perMs: Type.Integer({ minimum: 1 }),
        },
        { additionalProperties: false, description: "The API's rate limit; polls and pages stay under it" },
      ),
    ),
    timeoutMs: Ms(15_000, 'One request of a poll'),
  },
  { additionalProperties: false },
);

/** A broker as a source: messages become events, acknowledged once stored. */
export const BrokerSourceSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('nats'),
      url: Type.String({ default: 'nats://127.0.0.1:4222' }),
      stream: Type.String({ minLength: 1, description: 'JetStream stream to consume' }),
      consumer: Type.String({ minLength: 1, description: 'Durable consumer name (shared by the nodes)' }),
      subject: Type.Optional(Type.String({ description: 'Filter subject; default the whole stream' })),
      eventType: Type.String({
        default: '{subject}',
        description: 'Event type; `{subject}` is the message subject',
      }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('rabbitmq'),
      url: Type.String({ default: 'amqp://guest:guest@127.0.0.1:5672' }),
      queue: Type.String({ minLength: 1, description: 'Queue to consume (declared durable if missing)' }),
      eventType: Type.String({
        default: '{routingKey}',
        description: 'Event type; `{routingKey}` is the message routing key',
      }),
      prefetch: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
    },
    { additionalProperties: false },
  ),
]);

/** Routes stored events to a destination, with retries and a dead letter queue (Q24, Q40). */
export const SubscriptionSchema = Type.Object(
  {
    sources: Type.Optional(
      Type.Array(Name, {
        minItems: 1,
        description:
          "Sources it takes events from; default all. `junction`: Junction's operational events (endpoint.disabled, message.attempt.*)",
      }),
    ),
    types: Type.Array(TypePattern, { default: ['*'], minItems: 1, description: 'Event types it takes' }),
    filter: Type.Optional(
      Type.String({
        maxLength: 4096,
        description:
          'JSONata expression over { source, type, payload }; the event is taken when it is true (`payload.data.object.amount > 1000`)',
      }),
    ),
    destination: DestinationSchema,
    retry: Type.Object(
      {
        maxAttempts: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 8,
          description: 'Then the dead letter queue',
        }),
        initialMs: Ms(1_000, 'First backoff; doubling, full jitter'),
        maxMs: Ms(3_600_000, 'Longest backoff'),
      },
      { additionalProperties: false, default: {} },
    ),
    enabled: Type.Boolean({ default: true, description: 'false: events still queue, nothing is sent' }),
  },
  { additionalProperties: false },
);

export const EventsSchema = Type.Object(
  {
    sources: Type.Record(Name, WebhookSourceSchema, { default: {}, description: 'Webhook sources by name' }),
    pollers: Type.Record(Name, PollerSchema, {
      default: {},
      description: 'Polled APIs by name (a source name)',
    }),
    brokers: Type.Record(Name, BrokerSourceSchema, {
      default: {},
      description: 'Broker consumers by name (a source name)',
    }),
    subscriptions: Type.Record(Name, SubscriptionSchema, {
      default: {},
      description: 'Subscriptions by name',
    }),
    dedupe: Type.Object(
      {
        expectedIds: Type.Integer({
          minimum: 1_000,
          maximum: 1_000_000_000,
          default: 1_000_000,
          description: 'Bloom filter sizing: provider ids expected (Q47)',
        }),
        falsePositiveRate: Type.Number({
          exclusiveMinimum: 0,
          maximum: 0.5,
          default: 0.001,
          description: 'Bloom filter target: share of new ids that still need the database lookup',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    worker: Type.Object(
      {
        concurrency: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 16,
          description: 'Deliveries in flight per node',
        }),
        leaseMs: Ms(
          60_000,
          'A claimed delivery is this node’s until then; longer than any destination timeout',
        ),
        idlePollMs: Ms(250, 'How often an idle node looks for due deliveries'),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {}, description: 'The event hub (docs/events.md)' },
);

export type WebhookSourceConfig = Static<typeof WebhookSourceSchema>;
export type PollerConfig = Static<typeof PollerSchema>;
export type BrokerSourceConfig = Static<typeof BrokerSourceSchema>;
export type SubscriptionConfig = Static<typeof SubscriptionSchema>;
export type EventsConfig = Static<typeof EventsSchema>;
