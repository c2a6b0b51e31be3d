import type { PolicyFactory } from '../../core/policy.ts';
import type { Services } from '../../core/services.ts';
import type { Store } from '../../store/index.ts';
import { abac } from './abac/index.ts';
import { accessLog } from './access-log/index.ts';
import { apiKey, provideApiKeys } from './api-key/index.ts';
import { cache, closeCacheStores } from './cache/index.ts';
import { csrf } from './csrf/index.ts';
import { fault } from './fault/index.ts';
import { closeIdempotencyStores, idempotency, provideIdempotencyStore } from './idempotency/index.ts';
import { jwt } from './jwt/index.ts';
import { metrics } from './metrics/index.ts';
import { mtls } from './mtls/index.ts';
import { negotiate } from './negotiate/index.ts';
import { closeRateLimitBackends, rateLimit } from './rate-limit/index.ts';
import { rbac } from './rbac/index.ts';
import { securityHeaders } from './security-headers/index.ts';
import { closeSessionStores, provideSessionStore, session } from './session/index.ts';
import { tracing } from './tracing/index.ts';

/** Every policy a route can name. Later capabilities add theirs here. */
export const POLICIES: readonly PolicyFactory[] = [
  tracing,
  accessLog,
  metrics,
  negotiate,
  fault,
  cache,
  mtls,
  jwt,
  abac,
  apiKey,
  rbac,
  rateLimit,
  session,
  csrf,
  securityHeaders,
  idempotency,
] as unknown as PolicyFactory[];

/**
 * Hands the policies that keep state in the store (API keys, sessions, idempotency records) the
 * gateway's store once it is open. Policies see only `services` (src/core/policy.ts), so this is how
 * they reach it; `junction validate` compiles routes without ever calling it.
 */
export function providePolicyStores(
  services: Services,
  store: Pick<Store, 'apiKeys' | 'sessions' | 'idempotency'>,
): void {
  provideApiKeys(services, store.apiKeys);
  provideSessionStore(services, store.sessions);
  provideIdempotencyStore(services, store.idempotency);
}

/** Releases what policies hold per gateway (cache stores' Redis connections) when it closes. */
export async function closePolicies(services: Services): Promise<void> {
  await Promise.all([
    closeCacheStores(services),
    closeRateLimitBackends(services),
    closeSessionStores(services),
    closeIdempotencyStores(services),
  ]);
}
