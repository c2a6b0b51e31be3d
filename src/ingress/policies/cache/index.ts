/**
 * `core.cache` (Q23, Q41): an RFC 9111 shared cache in front of the route's upstream, cache-aside
 * for GET/HEAD with write-through-style invalidation by unsafe methods, stale-while-revalidate and
 * stale-if-error (RFC 5861), RFC 9211 `Cache-Status`, and request coalescing so that a cold key costs
 * one upstream call however many clients ask at once. docs/cache.md has the semantics.
 *
 * List it after policies that rewrite the response (core.negotiate): `onResponse` runs in config
 * order, and the cache must store what the client would get; a hit skips the later `onResponse`s.
 */
import { definePolicy, type Policy, type PolicyEnv } from '../../../core/policy.ts';
import { cacheMetrics, routeCounters } from './metrics.ts';
import { cacheOnRequest } from './on-request.ts';
import { cacheOnResponse } from './on-response.ts';
import type { RouteCache } from './route-cache.ts';
import { type CacheConfig, cacheSchema } from './schema.ts';
import { refreshToken, sharedStore } from './stores.ts';

export type { CacheEntry } from './entry.ts';
export type { CacheConfig } from './schema.ts';
export type { CacheStore } from './store.ts';
export { MemoryStore } from './store-memory.ts';
export { RedisStore } from './store-redis.ts';
export { closeCacheStores } from './stores.ts';

/**
 * Builds the policy for one route; `cache.create` is this.
 * @example
 * const p = cachePolicy(Value.Default(cacheSchema, { store: { kind: 'memory' } }), env);
 */
export function cachePolicy(config: CacheConfig, env: PolicyEnv): Policy {
  const metrics = cacheMetrics(env.services.metrics.registry);
  const rc: RouteCache = {
    config,
    shared: sharedStore(env.services, config.store, metrics),
    counters: routeCounters(metrics, env.routeName),
    rules: {
      statuses: new Set(config.statuses),
      defaultTtlMs: config.defaultTtlMs,
      keepStaleMs: config.keepStaleMs,
    },
    keyOptions: { query: config.key.query, headers: config.key.headers.map((h) => h.toLowerCase()) },
    token: refreshToken(env.services),
  };
  return {
    onRequest: (ctx) => cacheOnRequest(rc, ctx),
    onResponse: (ctx, res) => cacheOnResponse(rc, ctx, res),
    onLog(ctx) {
      const slot = ctx.slots.cache;
      if (slot === undefined) return;
      // The exchange ended without a body being copied (an error, an early answer, a client that
      // left), or with a copy that never completed because a later policy replaced the body we
      // returned: followers must not wait for a store that will not come.
      if (!slot.storing || !slot.teeSettled) slot.lead?.release();
      if (!slot.counted) {
        slot.counted = true;
        rc.counters.count('miss');
      }
    },
  };
}

export const cache = definePolicy({
  name: 'core.cache',
  description:
    'RFC 9111 shared cache: memory or Redis store, Vary, revalidation, stale-while-revalidate/-if-error, coalescing',
  schema: cacheSchema,
  create: cachePolicy,
});
