import { murmur3 } from './hash.ts';
import { type HashOn, hashKey } from './hash-key.ts';
import { roundRobin } from './round-robin.ts';
import type { Candidate, IsUp, Strategy } from './types.ts';

/** Virtual nodes per target: Envoy's ring hash defaults to a 1024-entry ring; 160 per target
 * (ketama's figure) keeps each target's share within a few percent of even for small pools. */
export const VNODES = 160;

export interface Ring<T> {
  /** Sorted hashes of the virtual nodes. */
  points: Uint32Array;
  /** `owners[i]` owns `points[i]`. */
  owners: T[];
}

/**
 * A hash ring (Karger et al., "Consistent Hashing and Random Trees", STOC 1997): each target is
 * hashed onto a 32-bit circle at `vnodes` points and a key belongs to the first point at or after
 * its own hash. A point depends only on its target's id, so adding or removing a target moves only
 * the keys between its points and their predecessors: about 1/n of them.
 */
export function buildRing<T extends Candidate>(targets: readonly T[], vnodes = VNODES): Ring<T> {
  const entries: { hash: number; target: T }[] = [];
  for (const target of targets) {
    for (let i = 0; i < vnodes; i++) entries.push({ hash: murmur3(`${target.id}-${i}`), target });
  }
  // Ties (rare in 2^32) go by id, so a collision resolves the same way whatever the target order.
  entries.sort((a, b) => a.hash - b.hash || (a.target.id < b.target.id ? -1 : 1));
  return { points: Uint32Array.from(entries, (e) => e.hash), owners: entries.map((e) => e.target) };
}

/**
 * The owner of `hash` among targets in rotation. Walking clockwise past the points of targets that
 * are down gives the same answer as a ring rebuilt without them, so a target's health changing
 * remaps only its own keys, and nothing is rebuilt on the request path.
 */
export function lookup<T>(ring: Ring<T>, hash: number, isUp: IsUp<T>): T | undefined {
  const { points, owners } = ring;
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < hash) lo = mid + 1;
    else hi = mid;
  }
  for (let step = 0; step < points.length; step++) {
    const owner = owners[(lo + step) % points.length]!;
    if (isUp(owner)) return owner;
  }
  return undefined;
}

/**
 * Consistent hashing on a request key (header, cookie, JWT claim or client IP): the same key keeps
 * reaching the same target while it stays up. A request without the key is balanced round robin.
 *
 * @example
 * const ch = consistentHash(targets, { header: 'x-tenant' });
 * ch.pick(ctx, isUp)?.target; // same target for every request of tenant acme
 */
export function consistentHash<T extends Candidate>(
  targets: readonly T[],
  on: HashOn,
  vnodes = VNODES,
): Strategy<T> {
  const ring = buildRing(targets, vnodes);
  const keyOf = hashKey(on);
  const fallback = roundRobin(targets);
  return {
    pick(req, isUp) {
      const key = keyOf(req);
      if (key === undefined) return fallback.pick(req, isUp);
      const target = lookup(ring, murmur3(key), isUp);
      return target === undefined ? undefined : { target };
    },
  };
}
