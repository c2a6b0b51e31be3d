import type { PolicyFactory } from '../../core/policy.ts';
import type { Services } from '../../core/services.ts';
import { abac } from './abac/index.ts';
import { accessLog } from './access-log/index.ts';
import { apiKey } from './api-key/index.ts';
import { cache, closeCacheStores } from './cache/index.ts';
import { fault } from './fault/index.ts';
import { jwt } from './jwt/index.ts';
import { metrics } from './metrics/index.ts';
import { mtls } from './mtls/index.ts';
import { negotiate } from './negotiate/index.ts';
import { closeRateLimitBackends, rateLimit } from './rate-limit/index.ts';
import { rbac } from './rbac/index.ts';
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
  rateLimit,
  apiKey,
  rbac,
] as unknown as PolicyFactory[];

/** Releases what policies hold per gateway (cache stores' Redis connections) when it closes. */
export async function closePolicies(services: Services): Promise<void> {
  await Promise.all([closeCacheStores(services), closeRateLimitBackends(services)]);
}
