import type { Candidate, Strategy } from './types.ts';

/**
 * Least request by the power of two choices (Mitzenmacher, "The Power of Two Choices in Randomized
 * Load Balancing", 2001; Envoy's LEAST_REQUEST): sample two distinct targets in rotation and take the
 * one with fewer requests in flight. Nearly as good as scanning for the minimum, without every
 * gateway worker piling onto the same momentarily idle target. Ties are broken at random.
 *
 * @example
 * const lr = leastRequest(targets);
 * lr.pick(ctx, (t) => health.isUp(t))?.target;
 */
export function leastRequest<T extends Candidate>(
  targets: readonly T[],
  random: () => number = Math.random,
): Strategy<T> {
  return {
    pick(_req, isUp) {
      // Usually every target is up: sample the list itself and allocate nothing.
      let up: readonly T[] = targets;
      if (!targets.every(isUp)) up = targets.filter(isUp);
      const n = up.length;
      if (n === 0) return undefined;
      if (n === 1) return { target: up[0]! };
      const i = Math.floor(random() * n);
      const j = (i + 1 + Math.floor(random() * (n - 1))) % n; // distinct from i
      const a = up[i]!;
      const b = up[j]!;
      if (a.inflight !== b.inflight) return { target: a.inflight < b.inflight ? a : b };
      return { target: random() < 0.5 ? a : b };
    },
  };
}
