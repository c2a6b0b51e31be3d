/**
 * `core.rate-limit` (Q42): sliding-window, sliding-log or GCRA limits per route, keyed by client
 * address, principal, JWT claim, header or route (or a combination), in memory or in Redis shared
 * by every node. Every limit is checked and the request counts against them only if all allow it
 * (check-then-commit, atomic per request: one Lua call on Redis). Answers carry the IETF
 * `RateLimit-Policy` / `RateLimit` fields; a refusal is 429 `rate_limited` with `Retry-After`.
 * docs/rate-limiting.md has the semantics, failure modes and measured accuracy.
 */
import { JunctionError } from '../../../core/errors.ts';
import { definePolicy, type Policy, type PolicyEnv, type RequestContext } from '../../../core/policy.ts';
import type { Decision } from './algorithms/index.ts';
import type { Item } from './backend.ts';
import { sharedBackend } from './backends.ts';
import { RateLimited, RateLimitUnavailable } from './errors.ts';
import {
  POLICY_HEADER,
  policyHeader,
  retryAfterSeconds,
  STATE_HEADER,
  stateHeader,
  tightest,
} from './headers.ts';
import { compileLimits } from './limits.ts';
import { routeCounters } from './metrics.ts';
import { type RateLimitConfig, rateLimitSchema } from './schema.ts';

export type { Decision, LimitSpec } from './algorithms/index.ts';
export { gcra, slidingLog, slidingWindow } from './algorithms/index.ts';
export type { Backend, Item } from './backend.ts';
export { closeRateLimitBackends } from './backends.ts';
export { compileLimits } from './limits.ts';
export { MemoryBackend } from './memory-backend.ts';
export { RedisBackend } from './redis-backend.ts';
export type { RateLimitConfig } from './schema.ts';

/**
 * Builds the policy for one route; `rateLimit.create` is this.
 * @example
 * const p = rateLimitPolicy(Value.Default(rateLimitSchema, { limits: [{ limit: 10, windowMs: 1000 }] }), env);
 */
export function rateLimitPolicy(config: RateLimitConfig, env: PolicyEnv): Policy {
  const fallbackNodes = config.backend.kind === 'redis' ? config.backend.fallbackNodes : 1;
  const limits = compileLimits(config.limits, config.scope ?? env.routeName, fallbackNodes);
  const shared = sharedBackend(env.services, config.backend, env.routeName);
  const counters = routeCounters(env.services.metrics.registry, env.routeName);
  const onError = config.backend.kind === 'redis' ? config.backend.onRedisError : 'open';
  const policy = config.headers ? policyHeader(limits) : undefined;

  const settle = (ctx: RequestContext, items: Item[], decisions: Decision[]): undefined => {
    const i = tightest(decisions);
    if (policy !== undefined) ctx.responseHeaders[STATE_HEADER] = stateHeader(items[i]!.limit, decisions[i]!);
    if (decisions.every((d) => d.allowed)) {
      counters.decided('allowed');
      return undefined;
    }
    counters.decided('limited');
    const name = items[i]!.limit.name;
    throw new JunctionError(RateLimited, `rate limit ${name} exceeded`, {
      headers: { 'retry-after': String(retryAfterSeconds(decisions)) },
      extensions: { limit: name, retryAfterMs: Math.ceil(decisions[i]!.retryAfterMs) },
    });
  };

  const failed = (ctx: RequestContext, items: Item[], err: unknown): undefined => {
    counters.backendError();
    shared.warn(err, 'rate limit: redis could not decide');
    if (onError === 'local' && shared.local !== undefined) {
      return settle(ctx, items, shared.local.decide(items));
    }
    if (onError === 'open') {
      counters.decided('error_open');
      return undefined;
    }
    counters.decided('error_closed');
    throw new JunctionError(RateLimitUnavailable, 'the shared rate limiter did not answer in time', {
      cause: err,
      headers: { 'retry-after': '1' },
    });
  };

  return {
    onRequest(ctx) {
      const items: Item[] = [];
      for (const limit of limits) {
        const key = limit.keyOf(ctx);
        if (key !== undefined) items.push({ limit, key });
      }
      if (policy !== undefined) ctx.responseHeaders[POLICY_HEADER] = policy;
      if (items.length === 0) return undefined;
      let decided: Decision[] | Promise<Decision[]>;
      try {
        decided = shared.primary.decide(items);
      } catch (err) {
        return failed(ctx, items, err);
      }
      // Memory answers synchronously: the request pays for no promise.
      if (!(decided instanceof Promise)) return settle(ctx, items, decided);
      return decided.then(
        (d) => settle(ctx, items, d),
        (err: unknown) => failed(ctx, items, err),
      );
    },
  };
}

export const rateLimit = definePolicy({
  name: 'core.rate-limit',
  description:
    'Rate limits per route: sliding window, sliding log or GCRA; by IP, principal, claim, header or route; memory or Redis',
  schema: rateLimitSchema,
  create: rateLimitPolicy,
});
