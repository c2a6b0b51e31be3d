/**
 * Where `core.idempotency` keeps keys, per gateway (its `Services`). Policies get only `services`
 * (src/core/policy.ts) and the SQL store is not among them, so the gateway hands it over once the
 * store is open, as it does for auth.api-key's key source; it is looked up per request, not at
 * `create`, because routes compile before it is provided (and `junction validate` never provides it).
 *
 * The SQL store's expired rows are swept by each node every minute in batches (Redis expires its
 * own). Redis clients and the sweeper are stopped by `closeIdempotencyStores(services)` at shutdown.
 */
import { throttledWarn } from '../../../core/logger.ts';
import type { Services } from '../../../core/services.ts';
import type { RedisConfig } from './schema.ts';
import type { IdempotencyStore } from './store.ts';
import { RedisIdempotencyStore } from './store-redis.ts';

/** What the gateway provides: `store.idempotency` (src/store/idempotency.ts) is one. */
export interface SqlIdempotencyStore extends IdempotencyStore {
  sweep(now?: number, limit?: number): Promise<number>;
}

export const SWEEP_INTERVAL_MS = 60_000;
const SWEEP_BATCH = 1000;

interface GatewayStores {
  sql: SqlIdempotencyStore | undefined;
  sweeper: NodeJS.Timeout | undefined;
  redis: Map<string, RedisIdempotencyStore>;
  warn: (err: unknown, msg: string) => void;
}

const byGateway = new WeakMap<Services, GatewayStores>();

function stores(services: Services): GatewayStores {
  let s = byGateway.get(services);
  if (s === undefined) {
    s = { sql: undefined, sweeper: undefined, redis: new Map(), warn: throttledWarn(services.logger) };
    byGateway.set(services, s);
  }
  return s;
}

/**
 * Gives the policy the gateway's SQL store and starts its retention sweep.
 * @example
 * provideIdempotencyStore(services, store.idempotency); // in startGateway, once the store is open
 */
export function provideIdempotencyStore(services: Services, store: SqlIdempotencyStore): void {
  const s = stores(services);
  s.sql = store;
  if (s.sweeper !== undefined) return;
  s.sweeper = setInterval(() => void sweepAll(s), SWEEP_INTERVAL_MS);
  s.sweeper.unref();
}

async function sweepAll(s: GatewayStores): Promise<void> {
  try {
    // A full batch means more may be waiting; the next tick takes the rest if this one falls short.
    for (let i = 0; i < 10 && s.sql !== undefined; i++) {
      if ((await s.sql.sweep(Date.now(), SWEEP_BATCH)) < SWEEP_BATCH) return;
    }
  } catch (err) {
    s.warn(err, 'idempotency: sweeping expired keys failed');
  }
}

export function sqlStore(services: Services): IdempotencyStore | undefined {
  return byGateway.get(services)?.sql;
}

/** One client per Redis URL and prefix per gateway, shared by the routes that name it. */
export function redisStore(services: Services, config: RedisConfig, url: string): IdempotencyStore {
  const s = stores(services);
  const id = JSON.stringify([url, config.keyPrefix, config.timeoutMs]);
  let store = s.redis.get(id);
  if (store === undefined) {
    store = new RedisIdempotencyStore({
      url,
      keyPrefix: config.keyPrefix,
      timeoutMs: config.timeoutMs,
      onError: (err) => s.warn(err, 'idempotency: redis connection error'),
    });
    s.redis.set(id, store);
  }
  return store;
}

export function warnOf(services: Services): (err: unknown, msg: string) => void {
  return stores(services).warn;
}

/** Stops the sweep and closes Redis connections; call once at shutdown. */
export async function closeIdempotencyStores(services: Services): Promise<void> {
  const s = byGateway.get(services);
  if (s === undefined) return;
  byGateway.delete(services);
  clearInterval(s.sweeper);
  await Promise.all([...s.redis.values()].map((r) => r.close()));
}
