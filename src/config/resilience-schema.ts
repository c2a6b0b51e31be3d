/**
 * Config of the resilience stack around upstream calls (Q5, Q19, Q20): per upstream, with a route
 * able to replace the deadline and retry settings for its own calls (breaker and bulkhead state is
 * the upstream's, shared by every route that calls it). docs/resilience.md explains each setting.
 */
import Type, { type Static } from 'typebox';

const Status = Type.Integer({ minimum: 400, maximum: 599 });

/** What counts as a failed attempt: transport failures by kind, `5xx` for any 5xx, or a status. */
export const FailureKind = Type.Union([
  Type.Literal('connect-failure'),
  Type.Literal('reset'),
  Type.Literal('timeout'),
  Type.Literal('5xx'),
  Status,
]);
export type FailureKind = Static<typeof FailureKind>;

export const RetrySchema = Type.Object(
  {
    attempts: Type.Integer({
      minimum: 1,
      maximum: 10,
      default: 3,
      description: 'Tries in all, the first included',
    }),
    perTryTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 600_000,
        description: 'Deadline of one try, until the response headers',
      }),
    ),
    backoff: Type.Object(
      {
        strategy: Type.Union([Type.Literal('full'), Type.Literal('decorrelated'), Type.Literal('none')], {
          default: 'full',
          description: 'Exponential backoff with full jitter, decorrelated jitter, or no jitter (none)',
        }),
        baseMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 100 }),
        capMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 5_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    retryOn: Type.Array(FailureKind, {
      default: ['connect-failure', 'reset', 'timeout', 502, 503, 504],
      description:
        'Outcomes that are retried (only for idempotent methods or requests with an Idempotency-Key)',
    }),
    budget: Type.Union(
      [
        Type.Literal(false),
        Type.Object(
          {
            ratio: Type.Number({
              minimum: 0,
              maximum: 1,
              default: 0.2,
              description: 'Retries per request at most',
            }),
            minRetriesPerSecond: Type.Number({ minimum: 0, default: 3 }),
            ttlMs: Type.Integer({ minimum: 1_000, maximum: 60_000, multipleOf: 1_000, default: 10_000 }),
          },
          { additionalProperties: false },
        ),
      ],
      {
        default: {},
        description: 'Retry budget (Finagle): retries cannot multiply an outage; false turns it off',
      },
    ),
    retryAfter: Type.Object(
      {
        honor: Type.Boolean({ default: true, description: "Wait at least the upstream's Retry-After" }),
        maxMs: Type.Integer({
          minimum: 0,
          default: 10_000,
          description: 'A longer Retry-After ends the retries',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    bufferBytes: Type.Integer({
      minimum: 0,
      maximum: 16_777_216,
      default: 65_536,
      description: 'Largest request body kept to send again; larger bodies are not retried',
    }),
  },
  { additionalProperties: false },
);

export const BreakerSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('sampling'), Type.Literal('consecutive')], { default: 'sampling' }),
    failureRatio: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'sampling: opens above this',
    }),
    minimumRequests: Type.Integer({
      minimum: 1,
      default: 20,
      description: 'sampling: volume before it may open',
    }),
    windowMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000 }),
    consecutiveFailures: Type.Integer({
      minimum: 1,
      default: 5,
      description: 'consecutive: opens after this many',
    }),
    resetMs: Type.Integer({
      minimum: 1,
      maximum: 3_600_000,
      default: 30_000,
      description: 'Open time before probing',
    }),
    halfOpenProbes: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
    failOn: Type.Array(FailureKind, { default: ['connect-failure', 'reset', 'timeout', '5xx'] }),
  },
  { additionalProperties: false },
);

export const BulkheadSchema = Type.Object(
  {
    maxConcurrent: Type.Integer({ minimum: 1, maximum: 100_000 }),
    maxQueue: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
    queueTimeoutMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 1_000 }),
  },
  { additionalProperties: false },
);

/** Egress pacing (Q3): calls wait for their slot under the partner's rate limit instead of failing. */
export const PacingSchema = Type.Object(
  {
    rate: Type.Object(
      {
        requests: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Calls allowed per perMs' }),
        perMs: Type.Integer({
          minimum: 1,
          maximum: 86_400_000,
          description: "The partner's window; set requests a little under its limit to absorb jitter",
        }),
      },
      { additionalProperties: false, description: 'The rate the pacer keeps to, at most' },
    ),
    burst: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 1,
      description: 'Calls that may go at once after a quiet spell; 1 spaces every call evenly',
    }),
    maxQueue: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 1000,
      description: 'Calls waiting for a slot on this node; more are refused (pacing_queue_full)',
    }),
    maxWaitMs: Type.Integer({
      minimum: 0,
      maximum: 600_000,
      default: 30_000,
      description: 'A call whose slot is further away is refused at once (pacing_wait_exceeded)',
    }),
    shared: Type.Union([Type.Literal('node'), Type.Literal('redis')], {
      default: 'node',
      description: 'redis: one schedule for every node (needs redis.url); node: per process',
    }),
    adaptive: Type.Boolean({
      default: true,
      description: 'Pause on 429/Retry-After and halve the rate (AIMD); slow down on RateLimit headers',
    }),
    key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Schedule name; upstreams naming the same key share one limit (default: the upstream)',
      }),
    ),
    keyPrefix: Type.String({
      default: 'junction:pacing:',
      maxLength: 200,
      description: 'Redis key prefix of the schedule (shared: redis)',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Calls wait for a slot under the partner’s rate limit instead of failing (docs/resilience.md "Pacing")',
  },
);

export const ResilienceSchema = Type.Object(
  {
    timeoutMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3_600_000,
        description: 'Deadline for all tries, until the response headers',
      }),
    ),
    retry: Type.Optional(RetrySchema),
    circuitBreaker: Type.Optional(BreakerSchema),
    bulkhead: Type.Optional(BulkheadSchema),
    pacing: Type.Optional(PacingSchema),
  },
  {
    additionalProperties: false,
    description: 'Deadline, retries, circuit breaker, bulkhead, pacing (docs/resilience.md)',
  },
);

/** What a route may set for its own calls; the breaker and bulkhead stay the upstream's. */
export const RouteResilienceSchema = Type.Object(
  {
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_600_000 })),
    retry: Type.Optional(Type.Union([Type.Literal(false), RetrySchema])),
  },
  {
    additionalProperties: false,
    description: 'Replaces the upstream’s deadline and retry settings for this route',
  },
);

export type ResilienceConfig = Static<typeof ResilienceSchema>;
export type RetryConfig = Static<typeof RetrySchema>;
export type BreakerConfig = Static<typeof BreakerSchema>;
export type BulkheadConfig = Static<typeof BulkheadSchema>;
export type PacingConfig = Static<typeof PacingSchema>;
export type RouteResilienceConfig = Static<typeof RouteResilienceSchema>;
