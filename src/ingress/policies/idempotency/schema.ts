/** `core.idempotency` configuration: one TypeBox schema, defaults included (STYLE.md §4). */
import Type, { type Static } from 'typebox';

/**
 * Upstream statuses that mean the request was not processed and may be sent again later, so they
 * are not stored: 401/403 (refused before executing), 408 (RFC 9110 §15.5.9: the server did not get
 * the whole request), 409 (the upstream's own conflict, e.g. its idempotency check), 425 (RFC 8470
 * §5.2), 429 (RFC 6585 §4), 503 (RFC 9110 §15.6.4: unable to handle it now). Every other status is
 * stored and replayed, 5xx included, as Stripe does ("including 500 errors").
 */
export const DEFAULT_RELEASE_STATUSES = [401, 403, 408, 409, 425, 429, 503];

const Method = Type.String({ pattern: '^[A-Z]+$' });

export const idempotencySchema = Type.Object(
  {
    methods: Type.Array(Method, {
      default: ['POST', 'PATCH'],
      description:
        'Methods the key applies to; on others the header is ignored (GET, PUT, DELETE are idempotent already)',
    }),
    required: Type.Boolean({
      default: false,
      description:
        'Refuse requests of those methods without an Idempotency-Key (400 idempotency_key_missing)',
    }),
    anonymousScope: Type.Union([Type.Literal('ip'), Type.Literal('none')], {
      default: 'ip',
      description:
        'Keys of callers without a principal: scoped by client IP, or one scope shared by all anonymous callers',
    }),
    leaseMs: Type.Integer({
      minimum: 100,
      maximum: 3_600_000,
      default: 60_000,
      description: 'How long the first request holds the key; after that a retry may take it over',
    }),
    ttlMs: Type.Integer({
      minimum: 1000,
      default: 86_400_000,
      description: 'How long a stored response is replayed (Stripe keeps keys at least 24 h)',
    }),
    maxBodyBytes: Type.Integer({
      minimum: 0,
      default: 1_048_576,
      description: 'Largest request body that is buffered and fingerprinted; larger ones get 413',
    }),
    maxResponseBytes: Type.Integer({
      minimum: 0,
      default: 1_048_576,
      description: 'Largest response body stored; a larger response is relayed and the key released',
    }),
    releaseStatuses: Type.Array(Type.Integer({ minimum: 200, maximum: 599 }), {
      default: DEFAULT_RELEASE_STATUSES,
      description:
        'Upstream statuses that release the key instead of being stored (the request may be retried)',
    }),
    store: Type.Union([Type.Literal('store'), Type.Literal('redis')], {
      default: 'store',
      description: "store: the gateway's SQLite/PostgreSQL database; redis: shared Redis with TTLs",
    }),
    redis: Type.Object(
      {
        url: Type.Optional(
          Type.String({ pattern: '^rediss?://', description: 'Defaults to redis.url / JUNCTION_REDIS_URL' }),
        ),
        keyPrefix: Type.String({
          default: 'junction:idem:',
          description: 'Prefix of every key; nodes with the same prefix share keys',
        }),
        timeoutMs: Type.Integer({
          minimum: 1,
          maximum: 60_000,
          default: 1000,
          description: 'Per-command timeout; a slower Redis answers 503 idempotency_unavailable',
        }),
      },
      { additionalProperties: false, default: {}, description: 'Connection for store: redis' },
    ),
  },
  { additionalProperties: false },
);

export type IdempotencyConfig = Static<typeof idempotencySchema>;
export type RedisConfig = IdempotencyConfig['redis'];
