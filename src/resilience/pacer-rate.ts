/**
 * The pacer's control law: the spacing between calls, adapted to what the partner says.
 *
 * - Configured: `T₀ = perMs / requests`; the pacer never goes faster than that.
 * - AIMD (Chiu & Jain 1989; TCP congestion avoidance, RFC 5681 §3.1): a throttle (429, or 503 with
 *   Retry-After) halves the rate — `factor ← max(1/16, factor / 2)`, once per congestion event (the
 *   store's epoch, see pacing-store.ts) — and every other response adds `1 / max(10, requests)` of
 *   the configured rate back, so a halved pacer is back to full speed after `requests / 2`
 *   successes (half a window's worth of calls). `T = T₀ / factor`.
 * - Hints (draft-ietf-httpapi-ratelimit-headers-10): with `r` calls left until the quota resets in
 *   `t` seconds, calls go at least `t / r` apart until then; a published `q` per `w` seconds is a
 *   spacing of at least `w / q`. Both only ever slow the pacer down.
 */
import type { PacingFeedback } from './rate-limit-headers.ts';

/** The lowest rate AIMD may fall to, as a share of the configured one (four halvings). */
const MIN_FACTOR = 1 / 16;

export interface RateSnapshot {
  /** Requests per `perMs` at the current spacing. */
  currentRequests: number;
  intervalMs: number;
  /** Share of the configured rate that AIMD allows, 1/16 … 1. */
  factor: number;
  /** Why the spacing is wider than AIMD's, when it is. */
  limitedBy: 'aimd' | 'remaining' | 'policy';
  /** Multiplicative decreases applied here since the pacer was built. */
  decreases: number;
}

export interface PacerRate {
  /** T at `now`: the widest of AIMD's spacing and the partner's hints still in force. */
  intervalAt(now: number): number;
  /** A response that was not a throttle: additive increase. */
  increase(): void;
  /** The store's congestion epoch after a reserve or throttle: one halving per epoch passed. */
  sync(epoch: number): void;
  /** Takes the spacing hints of a response. */
  hint(feedback: PacingFeedback, now: number): void;
  snapshot(now: number): RateSnapshot;
}

export function createPacerRate(options: { requests: number; perMs: number; adaptive: boolean }): PacerRate {
  const { requests, perMs, adaptive } = options;
  const base = perMs / requests;
  const step = 1 / Math.max(10, requests);
  let factor = 1;
  let epoch: number | undefined;
  let decreases = 0;
  let remaining: { intervalMs: number; until: number } | undefined;
  let policy: { intervalMs: number; until: number } | undefined;

  const widest = (now: number): [number, RateSnapshot['limitedBy']] => {
    let t = base / factor;
    let by: RateSnapshot['limitedBy'] = 'aimd';
    if (remaining !== undefined && remaining.until > now && remaining.intervalMs > t) {
      t = remaining.intervalMs;
      by = 'remaining';
    }
    if (policy !== undefined && policy.until > now && policy.intervalMs > t) {
      t = policy.intervalMs;
      by = 'policy';
    }
    return [t, by];
  };

  return {
    intervalAt: (now) => widest(now)[0],
    increase() {
      if (adaptive) factor = Math.min(1, factor + step);
    },
    sync(next) {
      // The first epoch seen is the baseline; an epoch lower than ours means the store forgot its
      // state (an idle Redis key expired), not a change of rate.
      if (epoch !== undefined && next > epoch && adaptive) {
        decreases += next - epoch;
        for (let i = Math.min(next - epoch, 4); i > 0; i--) factor = Math.max(MIN_FACTOR, factor / 2);
      }
      epoch = next;
    },
    hint(feedback, now) {
      if (!adaptive) return;
      if (feedback.hintIntervalMs !== undefined && feedback.hintForMs !== undefined)
        remaining = { intervalMs: feedback.hintIntervalMs, until: now + feedback.hintForMs };
      if (feedback.policyIntervalMs !== undefined && feedback.policyForMs !== undefined)
        policy = { intervalMs: feedback.policyIntervalMs, until: now + feedback.policyForMs };
    },
    snapshot(now) {
      const [t, limitedBy] = widest(now);
      return {
        currentRequests: Math.round((perMs / t) * 100) / 100,
        intervalMs: Math.round(t * 10) / 10,
        factor,
        limitedBy,
        decreases,
      };
    },
  };
}
