/**
 * Stores outlive the policy instances that use them: `create` runs again for every route on every
 * config reload, and a reload must not empty the cache. So stores are kept per gateway (its
 * `Services`) and per store config: routes with the same `store` share one, which is also what lets
 * a POST on one route invalidate the GET entries of another (RFC 9111 §4.4).
 *
 * Redis connections are closed by `closeCacheStores(services)`, which the gateway's shutdown must
 * call (see docs/cache.md; tests call it themselves).
 */
import { randomBytes } from 'node:crypto';
import { throttledWarn } from '../../../core/logger.ts';
import type { Services } from '../../../core/services.ts';
import { Coalescer } from './coalesce.ts';
import type { CacheMetrics } from './metrics.ts';
import type { StoreConfig } from './schema.ts';
import type { CacheStore } from './store.ts';
import { MemoryStore } from './store-memory.ts';
import { RedisStore } from './store-redis.ts';

export interface SharedStore {
  store: CacheStore;
  coalescer: Coalescer;
  /** Keys with a background refresh running in this process (RFC 5861 §3: one at a time). */
  refreshing: Set<string>;
  /** Logs a store failure at most once per 10 s, so a Redis outage does not flood the log. */
  warn(err: unknown, msg: string): void;
}

interface GatewayCaches {
  stores: Map<string, SharedStore>;
  /** Proves a background refresh came from this process (see refresh.ts). */
  refreshToken: string;
}

const byGateway = new WeakMap<Services, GatewayCaches>();

function caches(services: Services): GatewayCaches {
  let c = byGateway.get(services);
  if (c === undefined) {
    c = { stores: new Map(), refreshToken: randomBytes(24).toString('base64url') };
    byGateway.set(services, c);
  }
  return c;
}

export function refreshToken(services: Services): string {
  return caches(services).refreshToken;
}

export function sharedStore(services: Services, config: StoreConfig, metrics: CacheMetrics): SharedStore {
  const c = caches(services);
  const id = JSON.stringify(config);
  let shared = c.stores.get(id);
  if (shared !== undefined) return shared;
  const warn = throttledWarn(services.logger);
  const store: CacheStore =
    config.kind === 'memory'
      ? new MemoryStore({ maxBytes: config.maxBytes })
      : new RedisStore({
          url: config.url,
          keyPrefix: config.keyPrefix,
          timeoutMs: config.timeoutMs,
          onError: (err) => warn(err, 'cache: redis connection error'),
        });
  shared = { store, coalescer: new Coalescer(store), refreshing: new Set(), warn };
  c.stores.set(id, shared);
  metrics.stores.add(store);
  return shared;
}

/** Closes every store of a gateway (Redis connections); call once at shutdown. */
export async function closeCacheStores(services: Services): Promise<void> {
  const c = byGateway.get(services);
  if (c === undefined) return;
  byGateway.delete(services);
  await Promise.all([...c.stores.values()].map((s) => s.store.close()));
}
