/**
 * `core.idempotency` (Q11): Stripe's idempotent requests (https://docs.stripe.com/api/idempotent_requests)
 * and draft-ietf-httpapi-idempotency-key-header-07 in front of any upstream. The first POST or PATCH
 * with an `Idempotency-Key` takes a lease and goes upstream; its response is stored and replayed to
 * every retry with the same key and payload, with `Idempotent-Replayed: true`. docs/idempotency.md has
 * the semantics; the gateway forwards the key unchanged so the upstream can check it too.
 *
 * List it after the policies that authenticate or refuse requests (its keys are scoped by principal,
 * and a request they refuse should not take a lease) and after those that rewrite the response (it
 * stores what the client gets).
 */
import { ConfigInvalid } from '../../../config/errors.ts';
import { JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv } from '../../../core/policy.ts';
import { routeCounter } from './metrics.ts';
import { idempotencyOnRequest } from './on-request.ts';
import { idempotencyOnLog, idempotencyOnResponse } from './on-response.ts';
import type { RouteIdempotency } from './route.ts';
import { type IdempotencyConfig, idempotencySchema } from './schema.ts';
import type { IdempotencyStore } from './store.ts';
import { redisStore, sqlStore, warnOf } from './stores.ts';

export { REPLAYED_HEADER } from './replay.ts';
export type { IdempotencySlot } from './route.ts';
export type { IdempotencyConfig } from './schema.ts';
export type { IdempotencyStore } from './store.ts';
export { RedisIdempotencyStore } from './store-redis.ts';
export { closeIdempotencyStores, provideIdempotencyStore, type SqlIdempotencyStore } from './stores.ts';

/**
 * Builds the policy for one route; `idempotency.create` is this.
 * @example
 * const p = idempotencyPolicy(Value.Default(idempotencySchema, { required: true }), env);
 */
export function idempotencyPolicy(config: IdempotencyConfig, env: PolicyEnv): Policy {
  const { services, routeName } = env;
  let store: () => IdempotencyStore | undefined;
  if (config.store === 'redis') {
    const url = config.redis.url ?? services.redisUrl;
    if (url === undefined) {
      throw new JunctionError(
        ConfigInvalid,
        `route ${routeName}: core.idempotency with store: redis needs redis.url (policy or top level) or JUNCTION_REDIS_URL`,
      );
    }
    const redis = redisStore(services, config.redis, url);
    store = () => redis;
  } else {
    store = () => sqlStore(services);
  }
  const ri: RouteIdempotency = {
    config,
    route: routeName,
    methods: new Set(config.methods),
    releaseStatuses: new Set(config.releaseStatuses),
    store,
    count: routeCounter(services.metrics.registry, routeName),
    logger: services.logger,
    warn: warnOf(services),
  };
  return {
    onRequest: (ctx) => idempotencyOnRequest(ri, ctx),
    onResponse: (ctx, res) => idempotencyOnResponse(ri, ctx, res),
    // Only a request that took a lease has a response to store or a key to release.
    wantsResponse: (ctx) => ctx.slots.idempotency?.state === 'leased',
    onLog: (ctx, entry) => idempotencyOnLog(ri, ctx, entry),
  };
}

export const idempotency = definePolicy({
  name: 'core.idempotency',
  description:
    'Idempotency-Key for unsafe methods (Stripe, IETF draft): lease, replay with Idempotent-Replayed, 409 in flight, 422 on another payload',
  schema: idempotencySchema,
  create: idempotencyPolicy,
});
