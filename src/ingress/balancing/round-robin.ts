import type { Candidate, IsUp, Strategy } from './types.ts';

/**
 * Round robin over the targets in rotation: the cursor moves past whatever was skipped, so a target
 * that leaves and rejoins does not make its neighbour take two turns in a row.
 *
 * @example
 * const rr = roundRobin(targets);
 * rr.next((t) => health.isUp(t)); // targets[0], then targets[1], …
 */
export function roundRobin<T extends Candidate>(
  targets: readonly T[],
): Strategy<T> & { next(isUp: IsUp<T>): T | undefined } {
  let cursor = 0;
  const next = (isUp: IsUp<T>): T | undefined => {
    const n = targets.length;
    for (let i = 0; i < n; i++) {
      const index = (cursor + i) % n;
      const target = targets[index]!;
      if (isUp(target)) {
        cursor = (index + 1) % n;
        return target;
      }
    }
    return undefined;
  };
  return {
    next,
    pick(_req, isUp) {
      const target = next(isUp);
      return target === undefined ? undefined : { target };
    },
  };
}
