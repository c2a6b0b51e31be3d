/**
 * Backends outlive the policy instances that use them: `create` runs again for every route on
 * every config reload, and a reload must not reset the counters (nor open a new Redis connection).
 * So they are kept per gateway (its `Services`) and per backend config; routes naming the same
 * backend share it, and their keys stay apart by scope. `closeRateLimitBackends(services)` ends
 * the Redis connections at shutdown (closePolicies calls it).
 */

import { ConfigInvalid } from '../../../config/errors.ts';
import { JunctionError } from '../../../core/errors.ts';
import { throttledWarn } from '../../../core/logger.ts';
import type { Services } from '../../../core/services.ts';
import type { Backend } from './backend.ts';
import { MemoryBackend } from './memory-backend.ts';
import { RedisBackend } from './redis-backend.ts';
import type { BackendConfig } from './schema.ts';

export interface SharedBackend {
  primary: Backend;
  /** A Redis backend's in-process stand-in (limits divided by `fallbackNodes`). */
  local: MemoryBackend | undefined;
  /** Logs at most once per 10 s, so an outage does not flood the log. */
  warn(err: unknown, msg: string): void;
}

const byGateway = new WeakMap<Services, Map<string, SharedBackend>>();

export function sharedBackend(services: Services, config: BackendConfig, routeName: string): SharedBackend {
  let backends = byGateway.get(services);
  if (backends === undefined) {
    backends = new Map();
    byGateway.set(services, backends);
  }
  const url = config.kind === 'redis' ? (config.url ?? services.redisUrl) : undefined;
  if (config.kind === 'redis' && url === undefined) {
    throw new JunctionError(
      ConfigInvalid,
      `route ${routeName}: core.rate-limit backend redis needs a url (backend.url, redis.url or JUNCTION_REDIS_URL)`,
    );
  }
  const id = JSON.stringify({ ...config, url });
  let shared = backends.get(id);
  if (shared !== undefined) return shared;
  const warn = throttledWarn(services.logger);
  if (config.kind === 'memory') {
    shared = { primary: new MemoryBackend({ maxKeys: config.maxKeys }), local: undefined, warn };
  } else {
    shared = {
      primary: new RedisBackend({
        url: url!,
        keyPrefix: config.keyPrefix,
        timeoutMs: config.timeoutMs,
        onError: (err) => warn(err, 'rate limit: redis connection error'),
      }),
      local: new MemoryBackend({ maxKeys: config.maxKeys, share: true }),
      warn,
    };
  }
  backends.set(id, shared);
  return shared;
}

/** Closes every backend of a gateway (Redis connections); call once at shutdown. */
export async function closeRateLimitBackends(services: Services): Promise<void> {
  const backends = byGateway.get(services);
  if (backends === undefined) return;
  byGateway.delete(services);
  await Promise.all([...backends.values()].flatMap((b) => [b.primary.close(), b.local?.close()]));
}
