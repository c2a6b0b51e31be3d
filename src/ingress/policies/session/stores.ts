/**
 * Where sessions live: the gateway's SQL store (`store: store`, the default: SQLite embedded,
 * PostgreSQL in a cluster) or Redis (`store: { redis }`). Policies get only `services`, so the gateway
 * hands over its SQL store once it is open (`provideSessionStore`, like `provideApiKeys`); it is read
 * per request, not at `create`, because routes compile before the store is provided (and
 * `junction validate` never provides one). Redis stores are kept per gateway and per config so that
 * reloads and routes share one connection; `closeSessionStores` closes them at shutdown.
 */
import type { Services } from '../../../core/services.ts';
import type { PendingLogin, SessionRecord, SessionTokens } from '../../../store/index.ts';
import type { SessionConfig } from './schema.ts';
import { RedisSessionStore } from './store-redis.ts';

/** What the policy needs of a session store; `store.sessions` (src/store/sessions.ts) is one. */
export interface SessionStore {
  get(id: string): Promise<SessionRecord | undefined>;
  create(s: SessionRecord): Promise<void>;
  touch(id: string, lastSeenAt: number, expiresAt: number): Promise<unknown>;
  setTokens(id: string, t: SessionTokens): Promise<unknown>;
  /**
   * Cluster-wide: true for one caller until `until` or `setTokens`, and only while the tokens are
   * still those the caller read (their `accessExpiresAt`).
   */
  claimRefresh(id: string, seenAccessExpiresAt: number, now: number, until: number): Promise<boolean>;
  delete(id: string): Promise<unknown>;
  createLogin(l: PendingLogin): Promise<void>;
  /** Atomically deletes and returns the login: a `state` works once. */
  takeLogin(id: string, now: number): Promise<PendingLogin | undefined>;
  /** Deletes expired rows (Redis expires keys itself). */
  sweep(now: number): Promise<unknown>;
}

const SWEEP_EVERY_MS = 60_000;

interface GatewaySessions {
  sql: SessionStore | undefined;
  redis: Map<string, RedisSessionStore>;
  lastSweep: WeakMap<SessionStore, number>;
}

const byGateway = new WeakMap<Services, GatewaySessions>();

function sessionsOf(services: Services): GatewaySessions {
  let g = byGateway.get(services);
  if (g === undefined) {
    g = { sql: undefined, redis: new Map(), lastSweep: new WeakMap() };
    byGateway.set(services, g);
  }
  return g;
}

/**
 * @example
 * provideSessionStore(services, store.sessions); // in startGateway, once the store is open
 */
export function provideSessionStore(services: Services, store: SessionStore): void {
  sessionsOf(services).sql = store;
}

/** A resolver for one route's `store` setting; undefined when the SQL store was never provided. */
export function storeResolver(
  services: Services,
  config: SessionConfig['store'],
): () => SessionStore | undefined {
  const g = sessionsOf(services);
  if (config === 'store') return () => g.sql;
  const url = config.redis.url ?? services.redisUrl;
  if (url === undefined) return () => undefined;
  const id = `${url} ${config.redis.keyPrefix}`;
  let redis = g.redis.get(id);
  if (redis === undefined) {
    redis = new RedisSessionStore({
      url,
      keyPrefix: config.redis.keyPrefix,
      onError: (err) => services.logger.warn({ err }, 'auth.session: redis connection error'),
    });
    g.redis.set(id, redis);
  }
  const store = redis;
  return () => store;
}

/** Sweeps expired rows at most once a minute per store and process, off the request's path. */
export function sweepSometimes(services: Services, store: SessionStore, now: number): void {
  const g = sessionsOf(services);
  if (now - (g.lastSweep.get(store) ?? 0) < SWEEP_EVERY_MS) return;
  g.lastSweep.set(store, now);
  store.sweep(now).catch((err: unknown) => services.logger.warn({ err }, 'auth.session: sweep failed'));
}

/** Closes the Redis connections of a gateway's session stores; call once at shutdown. */
export async function closeSessionStores(services: Services): Promise<void> {
  const g = byGateway.get(services);
  if (g === undefined) return;
  const redis = [...g.redis.values()];
  g.redis.clear();
  await Promise.all(redis.map((r) => r.close()));
}
