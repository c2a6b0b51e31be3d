/** `core.rate-limit` configuration: one TypeBox schema, defaults included (STYLE.md §4). */
import Type, { type Static } from 'typebox';

const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const KeyPart = Type.Union(
  [
    Type.Literal('ip', { description: 'The client address (after trusted X-Forwarded-For hops)' }),
    Type.Literal('principal', { description: 'The authenticated caller: API key id, JWT sub, …' }),
    Type.Literal('route', { description: "The route's name: one counter for everyone on it" }),
    Type.Object({ header: Type.String({ pattern: TOKEN }) }, { additionalProperties: false }),
    Type.Object({ claim: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  ],
  { description: 'ip, principal, route, { header: name } or { claim: name }' },
);

export const LimitSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
        description: 'Policy name in the RateLimit headers; defaults to `<limit>-per-<window>`',
      }),
    ),
    algorithm: Type.Union(
      [Type.Literal('sliding-window'), Type.Literal('sliding-log'), Type.Literal('gcra')],
      {
        default: 'sliding-window',
        description:
          'sliding-window (two counters, approximate), sliding-log (exact, one entry per request), gcra (token bucket, exact)',
      },
    ),
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Requests per window' }),
    windowMs: Type.Integer({ minimum: 1, maximum: 31 * 86_400_000, description: 'Window length' }),
    burst: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000_000,
        description: 'gcra only: requests that may pass at once after an idle spell; defaults to limit',
      }),
    ),
    key: Type.Union([KeyPart, Type.Array(KeyPart, { minItems: 1, maxItems: 4 })], {
      default: 'ip',
      description: 'What is counted separately; a list combines parts (ip and a tenant header)',
    }),
    missingKey: Type.Union([Type.Literal('ip'), Type.Literal('shared'), Type.Literal('skip')], {
      default: 'ip',
      description:
        'When a key part is absent: count by client address instead, count all such requests together, or skip this limit',
    }),
  },
  { additionalProperties: false },
);

const MemoryBackend = Type.Object(
  {
    kind: Type.Literal('memory'),
    maxKeys: Type.Integer({
      minimum: 1,
      default: 100_000,
      description: 'Keys kept per process (least recently used dropped first)',
    }),
  },
  { additionalProperties: false },
);

const RedisBackend = Type.Object(
  {
    kind: Type.Literal('redis'),
    url: Type.Optional(
      Type.String({ pattern: '^rediss?://', description: 'Defaults to redis.url / JUNCTION_REDIS_URL' }),
    ),
    keyPrefix: Type.String({
      default: 'junction:rl:',
      description: 'Prefix of every key; nodes with the same prefix share counters',
    }),
    timeoutMs: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 50,
      description: 'Per-decision timeout; a slower Redis counts as unavailable',
    }),
    onRedisError: Type.Union([Type.Literal('local'), Type.Literal('open'), Type.Literal('closed')], {
      default: 'local',
      description:
        'When Redis is unreachable or slow: decide in this process (limits ÷ fallbackNodes), let requests through, or answer 503',
    }),
    fallbackNodes: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 1,
      description: 'Expected gateway nodes: the local fallback allows ⌈limit ÷ fallbackNodes⌉ per node',
    }),
    maxKeys: Type.Integer({ minimum: 1, default: 100_000, description: "The local fallback's key budget" }),
  },
  { additionalProperties: false },
);

export const rateLimitSchema = Type.Object(
  {
    limits: Type.Array(LimitSchema, {
      minItems: 1,
      maxItems: 8,
      description: 'Every limit is checked; a request counts against them only if all allow it',
    }),
    scope: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]+$',
        description: "Counter namespace, the route's name by default; routes with one scope share counters",
      }),
    ),
    backend: Type.Union([MemoryBackend, RedisBackend], {
      default: { kind: 'memory' },
      description: 'memory (per process) or redis (shared by every node)',
    }),
    headers: Type.Boolean({
      default: true,
      description: 'Send the IETF RateLimit-Policy and RateLimit header fields',
    }),
  },
  { additionalProperties: false },
);

export type RateLimitConfig = Static<typeof rateLimitSchema>;
export type LimitConfig = Static<typeof LimitSchema>;
export type KeyPartConfig = Static<typeof KeyPart>;
export type BackendConfig = RateLimitConfig['backend'];
export type RedisBackendConfig = Extract<BackendConfig, { kind: 'redis' }>;
