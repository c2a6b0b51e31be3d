/** `core.cache` configuration: one TypeBox schema, defaults included (STYLE.md §4). */
import Type, { type Static } from 'typebox';

const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/** Heuristically cacheable statuses (RFC 9110 §15.1) less 206: range requests are not cached. */
export const DEFAULT_STATUSES = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

const MemoryStoreSchema = Type.Object(
  {
    kind: Type.Literal('memory'),
    maxBytes: Type.Integer({
      minimum: 1024,
      default: 64 * 1024 * 1024,
      description: 'Byte budget of the LRU, bodies and headers counted',
    }),
  },
  { additionalProperties: false },
);

const RedisStoreSchema = Type.Object(
  {
    kind: Type.Literal('redis'),
    url: Type.String({ pattern: '^rediss?://', description: 'redis://[user:pass@]host:port[/db]' }),
    keyPrefix: Type.String({
      default: 'junction:cache:',
      description: 'Prefix of every key; nodes with the same prefix share entries',
    }),
    timeoutMs: Type.Integer({
      minimum: 1,
      maximum: 60_000,
      default: 500,
      description: 'Per-command timeout; a slow or unreachable Redis is a miss',
    }),
  },
  { additionalProperties: false },
);

export const cacheSchema = Type.Object(
  {
    statuses: Type.Array(Type.Integer({ minimum: 200, maximum: 599 }), {
      default: DEFAULT_STATUSES,
      description: 'Response statuses that may be stored',
    }),
    defaultTtlMs: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        'Freshness for responses without max-age, s-maxage or Expires; 0 stores only explicit freshness',
    }),
    keepStaleMs: Type.Integer({
      minimum: 0,
      default: 600_000,
      description: 'How long a stale entry with an ETag or Last-Modified is kept for revalidation',
    }),
    maxEntryBytes: Type.Integer({
      minimum: 0,
      default: 1_048_576,
      description: 'Larger bodies stream through uncached',
    }),
    honorClientNoCache: Type.Boolean({
      default: true,
      description: 'Honour request Cache-Control no-cache, no-store and max-age (and Pragma: no-cache)',
    }),
    store: Type.Union([MemoryStoreSchema, RedisStoreSchema], {
      default: { kind: 'memory' },
      description: 'memory (per process) or redis (shared by nodes); routes with the same store share it',
    }),
    key: Type.Object(
      {
        query: Type.Boolean({ default: true, description: 'The query string is part of the key' }),
        headers: Type.Array(Type.String({ pattern: TOKEN }), {
          default: [],
          description: 'Request headers that are part of the key (besides the response Vary)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    coalesce: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Concurrent misses for one key share one upstream call',
        }),
        timeoutMs: Type.Integer({
          minimum: 1,
          maximum: 600_000,
          default: 5000,
          description: 'Longest wait for the leading request before going upstream anyway',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    cacheStatus: Type.Object(
      {
        style: Type.Union(
          [Type.Literal('both'), Type.Literal('cache-status'), Type.Literal('x-cache'), Type.Literal('none')],
          { default: 'both', description: 'RFC 9211 Cache-Status, X-Cache, both or none' },
        ),
        name: Type.String({ pattern: TOKEN, default: 'junction', description: 'Cache name in Cache-Status' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type CacheConfig = Static<typeof cacheSchema>;
export type StoreConfig = CacheConfig['store'];
