import type { UpstreamConfig } from '../../config/schema.ts';

export type OutlierConfig = NonNullable<UpstreamConfig['outlierDetection']>;

/** Passive health of one target, as `done(target, failed)` reports its exchanges. */
export interface OutlierState {
  consecutiveFailures: number;
  /** Epoch ms the current or last ejection ends; 0 when never ejected. */
  ejectedUntil: number;
  /** Ejections that still lengthen the next one (decays while the target behaves). */
  ejections: number;
}

export const fresh = (): OutlierState => ({ consecutiveFailures: 0, ejectedUntil: 0, ejections: 0 });

/**
 * Envoy's consecutive-failure outlier detection (envoy.api.v2.cluster.OutlierDetection,
 * `consecutive_5xx` counting locally originated errors too): `consecutiveFailures` failed exchanges
 * in a row eject the target for `ejectionMs`, doubled for each ejection that follows closely and
 * capped at `maxEjectionMs` (Envoy multiplies by the count, capped at `max_ejection_time`). Every
 * `ejectionMs` spent in rotation forgives one earlier ejection. At most `maxEjectionPercent` of the
 * targets are out at once, but at least one may be, as in Envoy.
 *
 * Returns true when this outcome ejected the target. Outcomes reported while the target is ejected
 * (requests that were already in flight) are ignored.
 */
export function recordOutcome(
  state: OutlierState,
  failed: boolean,
  now: number,
  config: OutlierConfig,
  /** Targets of the upstream, and how many are ejected now (counted only when it matters). */
  room: { total: number; ejected: () => number },
): boolean {
  if (state.ejectedUntil > now) return false;
  if (!failed) {
    state.consecutiveFailures = 0;
    return false;
  }
  state.consecutiveFailures++;
  if (state.consecutiveFailures < config.consecutiveFailures) return false;
  const cap = Math.max(1, Math.floor((room.total * config.maxEjectionPercent) / 100));
  // Over the cap the failures keep counting: the next one tries again once another target is back.
  if (room.ejected() >= cap) return false;
  if (state.ejectedUntil > 0) {
    const forgiven = Math.floor((now - state.ejectedUntil) / config.ejectionMs);
    state.ejections = Math.max(0, state.ejections - forgiven);
  }
  const ms = Math.min(config.ejectionMs * 2 ** state.ejections, config.maxEjectionMs);
  state.ejections++;
  state.ejectedUntil = now + ms;
  state.consecutiveFailures = 0;
  return true;
}
