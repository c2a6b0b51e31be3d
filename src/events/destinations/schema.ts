/**
 * A subscription's `destination:` block: one TypeBox schema per kind, joined on `type` (STYLE.md §4).
 * docs/events-delivery.md explains each setting. src/config/events-schema.ts embeds it, so this file
 * imports nothing that does I/O.
 */
import Type, { type Static } from 'typebox';
import { TEMPLATE_PATTERN } from './template.ts';

/** 4xx statuses that mean "not now" rather than "never": RFC 9110 §15.5.9, RFC 8470 §5.2, RFC 6585 §4. */
export const DEFAULT_RETRY_STATUSES = [408, 425, 429];

export const BatchSchema = Type.Object(
  {
    maxEvents: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 100,
      description: 'A batch goes out as soon as it holds this many events',
    }),
    maxWaitMs: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 1000,
      description: 'or when its first event has waited this long, whichever comes first',
    }),
  },
  {
    additionalProperties: false,
    description: 'Deliver several events per attempt; without it each event goes alone (stream)',
  },
);

const Template = (fallback: string, description: string) =>
  Type.String({ minLength: 1, maxLength: 255, pattern: TEMPLATE_PATTERN, default: fallback, description });

const HeaderName = "^(?!(?:webhook-|x-junction-|content-|host$|user-agent$))[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

export const HttpDestinationSchema = Type.Object(
  {
    type: Type.Literal('http'),
    url: Type.String({
      pattern: '^https?://[^/?#@\\s]+(?:[/?#]\\S*)?$',
      description: 'Endpoint that receives POSTs; no credentials in the URL (use headers)',
    }),
    secrets: Type.Array(Type.String({ pattern: '^(whsec|whsk)_[A-Za-z0-9+/]+={0,2}$' }), {
      default: [],
      maxItems: 12,
      description:
        'Standard Webhooks signing secrets, newest first; each one signs (rotation): whsec_ keys with v1 HMAC-SHA256, whsk_ Ed25519 private keys with v1a. Empty: unsigned',
    }),
    timeoutMs: Type.Integer({
      minimum: 1,
      maximum: 300_000,
      default: 15_000,
      description: 'Whole attempt, connect to last byte of the answer; later is a retry',
    }),
    retryStatuses: Type.Array(Type.Integer({ minimum: 400, maximum: 499 }), {
      default: DEFAULT_RETRY_STATUSES,
      description: '4xx answers that are retried; other 4xx are rejected (3xx and 5xx are always retried)',
    }),
    maxRetryAfterMs: Type.Integer({
      minimum: 0,
      maximum: 86_400_000,
      default: 3_600_000,
      description: 'The longest Retry-After honoured; a longer one is cut to this',
    }),
    headers: Type.Record(
      Type.String({ pattern: HeaderName }),
      Type.String({ pattern: '^[\\t\\x20-\\x7e]*$' }),
      {
        // Type.Never(), not false: typebox's Value.Default fails on a record closed with `false`.
        additionalProperties: Type.Never(),
        default: {},
        description: 'Extra request headers (not webhook-*, x-junction-*, content-*, host, user-agent)',
      },
    ),
    connections: Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 10,
      description: 'Sockets to the endpoint at most',
    }),
    allowPrivateNetworks: Type.Boolean({
      default: false,
      description: 'Allow loopback, private and link-local addresses (only for endpoints you run)',
    }),
    batch: Type.Optional(BatchSchema),
  },
  { additionalProperties: false },
);

export const NatsDestinationSchema = Type.Object(
  {
    type: Type.Literal('nats'),
    servers: Type.Array(Type.String({ pattern: '^(?:nats|tls)://\\S+$' }), {
      minItems: 1,
      default: ['nats://127.0.0.1:4222'],
    }),
    subject: Template('events.{type}', 'Subject to publish to; {type} and {source} are replaced'),
    timeoutMs: Type.Integer({
      minimum: 1,
      maximum: 60_000,
      default: 5_000,
      description: "Wait this long for the stream's acknowledgement; later is a retry",
    }),
    user: Type.Optional(Type.String()),
    pass: Type.Optional(Type.String()),
    token: Type.Optional(Type.String()),
    batch: Type.Optional(BatchSchema),
  },
  { additionalProperties: false },
);

export const RabbitMqDestinationSchema = Type.Object(
  {
    type: Type.Literal('rabbitmq'),
    url: Type.String({ pattern: '^amqps?://\\S+$', description: 'amqp://user:pass@host:5672/vhost' }),
    exchange: Type.String({
      maxLength: 255,
      description: 'Exchange to publish to ("" is the default exchange)',
    }),
    routingKey: Template('{type}', 'Routing key; {type} and {source} are replaced'),
    mandatory: Type.Boolean({
      default: true,
      description: 'A message no queue is bound for comes back and is retried, instead of being dropped',
    }),
    timeoutMs: Type.Integer({
      minimum: 1,
      maximum: 60_000,
      default: 5_000,
      description: "Wait this long for the broker's confirm; later is a retry",
    }),
    batch: Type.Optional(BatchSchema),
  },
  { additionalProperties: false },
);

export const DestinationSchema = Type.Union(
  [HttpDestinationSchema, NatsDestinationSchema, RabbitMqDestinationSchema],
  {
    description: 'Where the subscription delivers: an HTTP endpoint (webhook), NATS JetStream or RabbitMQ',
  },
);

export type BatchConfig = Static<typeof BatchSchema>;
export type HttpDestinationConfig = Static<typeof HttpDestinationSchema>;
export type NatsDestinationConfig = Static<typeof NatsDestinationSchema>;
export type RabbitMqDestinationConfig = Static<typeof RabbitMqDestinationSchema>;
export type DestinationConfig = Static<typeof DestinationSchema>;
