/**
 * The `shard` handler (Q22, shard-aware routing): picks one of several upstreams from a key in the
 * request, then proxies to it like the `proxy` handler.
 *
 * - `hash`: murmur3(key) mod n — even spread, but changing n moves most keys.
 * - `consistent-hash`: jump consistent hash (Lamping & Veach 2014, arXiv:1406.2294): appending a
 *   shard moves only 1/(n+1) of the keys and needs no ring in memory; shards are numbered by order,
 *   so grow by appending.
 * - `range`: the first range whose inclusive `upTo` is ≥ the key (numbers compare as numbers).
 * - `directory`: the store's `shard_directory` table, edited through `/admin/v1/shards`; lookups are
 *   reused for `cacheMs` (an edit on this node is seen at once; on others within `cacheMs`).
 */
import type { ServerResponse } from 'node:http';
import type { ShardConfig } from '../../config/schema.ts';
import { JunctionError } from '../../core/errors.ts';
import type { RequestContext } from '../../core/policy.ts';
import { murmur3 } from '../balancing/index.ts';
import type { Context } from '../context.ts';
import { ShardKeyMissing, ShardNotFound } from '../errors.ts';
import type { CompiledRoute, Handler } from '../route.ts';
import type { Runtime } from '../runtime.ts';
import { forward } from './proxy.ts';

/** Where a directory route looks keys up; the gateway backs it with the store. */
export interface ShardDirectory {
  lookup(route: string, key: string): Promise<string | undefined>;
}

/** Jump consistent hash: the bucket in [0, n) for a 32-bit key hash. */
export function jumpHash(hash: number, n: number): number {
  // The paper's 64-bit LCG, in BigInt-free form: a 32-bit LCG state is enough for bucket counts this
  // small, and keeps the loop in doubles.
  let key = hash >>> 0;
  let b = -1;
  let j = 0;
  while (j < n) {
    b = j;
    key = (Math.imul(key, 2862933555) + 1) >>> 0;
    j = Math.floor((b + 1) * (2 ** 31 / ((key >>> 1) + 1)));
  }
  return b;
}

export function shardKey(ctx: RequestContext, key: ShardConfig['key']): string | undefined {
  if ('param' in key) return ctx.params[key.param];
  if ('header' in key) {
    const v = ctx.headers[key.header.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  const claim = (ctx.slots as { claims?: Record<string, unknown> }).claims?.[key.claim];
  return claim === undefined || claim === null ? undefined : String(claim);
}

function inRange(key: string, upTo: string | number): boolean {
  if (typeof upTo === 'number') {
    const n = Number(key);
    return Number.isFinite(n) && n <= upTo;
  }
  return key <= upTo;
}

export function shardHandler(config: ShardConfig, routeName: string): Handler {
  const cache = new Map<string, { upstream: string | undefined; until: number }>();
  const choose = async (key: string, rt: Runtime): Promise<string | undefined> => {
    switch (config.strategy) {
      case 'hash':
        return config.upstreams![murmur3(key) % config.upstreams!.length];
      case 'consistent-hash':
        return config.upstreams![jumpHash(murmur3(key), config.upstreams!.length)];
      case 'range':
        return config.ranges!.find((r) => r.upTo === undefined || inRange(key, r.upTo))?.upstream;
      case 'directory': {
        const now = Date.now();
        const hit = cache.get(key);
        if (hit && hit.until > now) return hit.upstream ?? config.directory?.default;
        const found = await rt.shards.lookup(routeName, key);
        if ((config.directory?.cacheMs ?? 0) > 0) {
          if (cache.size > 10_000) cache.clear(); // bounded: keys come from clients
          cache.set(key, { upstream: found, until: now + config.directory!.cacheMs });
        }
        return found ?? config.directory?.default;
      }
    }
  };
  return {
    upstream: undefined,
    async handle(ctx: Context, res: ServerResponse, route: CompiledRoute, rt: Runtime) {
      const key = shardKey(ctx, config.key);
      if (key === undefined || key === '') {
        throw new JunctionError(
          ShardKeyMissing,
          `the request names no shard key (${Object.entries(config.key)[0]!.join(' ')})`,
        );
      }
      const name = await choose(key, rt);
      const upstream = name === undefined ? undefined : rt.upstreams.get(name);
      if (upstream === undefined)
        throw new JunctionError(ShardNotFound, `no shard holds key ${key.slice(0, 64)}`);
      return forward(ctx, res, route, rt, upstream, config);
    },
    invalidate(key?: string) {
      if (key === undefined) cache.clear();
      else cache.delete(key);
    },
  };
}
