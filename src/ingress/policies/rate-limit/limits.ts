/**
 * A route's limits compiled once: the algorithm, the numbers, the key function, the Redis argument
 * strings and the header items, so the request path only looks things up.
 */
import { ALGORITHMS, type Algorithm, type LimitSpec } from './algorithms/index.ts';
import { compileKey, type KeyOf } from './keys.ts';
import type { LimitConfig } from './schema.ts';

export interface CompiledLimit {
  /** Name in the RateLimit header fields. */
  name: string;
  /** Namespace of this limit's keys: scope, name and algorithm (a changed algorithm starts afresh). */
  id: string;
  algorithm: Algorithm<unknown>;
  spec: LimitSpec;
  /** The spec the local fallback of a Redis backend uses on each of `fallbackNodes` nodes. */
  local: LimitSpec;
  keyOf: KeyOf;
  /** algorithm code, limit, windowMs, burst: this limit's ARGV in ../lua.ts. */
  argv: readonly [string, string, string, string];
}

const CODES = { 'sliding-log': 'l', 'sliding-window': 'w', gcra: 'g' } as const;

/** `1s`, `15m`, `1h`, `250ms`: for default names. */
export function describeWindow(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function compileLimits(limits: LimitConfig[], scope: string, fallbackNodes: number): CompiledLimit[] {
  const seen = new Set<string>();
  return limits.map((l) => {
    const name = l.name ?? `${l.limit}-per-${describeWindow(l.windowMs)}`;
    if (seen.has(name)) throw new TypeError(`two limits are named ${name}: give them distinct names`);
    seen.add(name);
    const spec: LimitSpec = { limit: l.limit, windowMs: l.windowMs, burst: l.burst ?? l.limit };
    const share = (n: number) => Math.max(1, Math.ceil(n / fallbackNodes));
    const code = CODES[l.algorithm];
    return {
      name,
      id: `${scope}:${name}:${code}`,
      algorithm: ALGORITHMS[l.algorithm],
      spec,
      local: { limit: share(spec.limit), windowMs: spec.windowMs, burst: share(spec.burst) },
      keyOf: compileKey(l),
      argv: [code, String(spec.limit), String(spec.windowMs), String(spec.burst)],
    };
  });
}
