/**
 * A circuit breaker per outbound webhook endpoint (issue #7 "Endpoint health": one dead endpoint
 * costs no worker capacity). After `failures` failed attempts in a row (no answer, a timeout, a 5xx)
 * the endpoint's breaker opens for `cooldownMs`; while it is open its deliveries are given back to
 * the queue unsent, due when it reopens (no attempt counted, so the retry schedule is not burned).
 * Then it is half-open: one trial attempt goes; a success closes it, a failure opens it again for
 * twice the last cooldown, up to `maxCooldownMs`.
 *
 * Why not src/resilience/breaker.ts: that one wraps a call and throws `circuit_open` with a fixed
 * `resetMs`; the delivery worker needs the answer before any call — "not until T" — so that it can
 * postpone the delivery (and the endpoint's whole backlog) to T, and the cooldown doubles here.
 * The states are plain values (STYLE.md §6) kept in memory per node: each node learns an endpoint's
 * health from its own attempts, so with N nodes an open endpoint gets up to N trials per cooldown.
 * No timers: time passing is noticed on `admit`.
 */
import { LRUCache } from 'lru-cache';

export interface BreakerSettings {
  failures: number;
  cooldownMs: number;
  maxCooldownMs: number;
}

export type EndpointCircuit =
  | { state: 'closed'; failures: number }
  | { state: 'open'; until: number; cooldownMs: number }
  /** `trialSince`: when the trial in flight was admitted (undefined: none in flight). */
  | { state: 'half-open'; cooldownMs: number; trialSince: number | undefined };

export type Admission =
  /** Send; `trial`: the one attempt of a half-open breaker, whose result decides. */
  | { ok: true; trial: boolean }
  /** Do not send before `until`. */
  | { ok: false; until: number };

/** What an attempt's outcome did to the breaker (for logs and metrics). */
export type Transition = 'opened' | 'reopened' | 'closed' | undefined;

/** While a trial is in flight, the other deliveries look again after this long. */
export const TRIAL_WAIT_MS = 1_000;
/** A trial not reported after this long (its worker died) no longer holds the others back. */
export const TRIAL_STALE_MS = 600_000;

export interface EndpointBreakers {
  admit(endpoint: string, now: number, settings: BreakerSettings): Admission;
  /**
   * The outcome of an admitted attempt: `failed` (counts toward opening), `ok` (closes), or `neutral`
   * (the endpoint answered but refused, e.g. a 4xx or 429: it is up, so neither).
   */
  record(
    endpoint: string,
    result: 'failed' | 'ok' | 'neutral',
    trial: boolean,
    now: number,
    settings: BreakerSettings,
  ): Transition;
  state(endpoint: string): EndpointCircuit;
  /** Endpoints by state, for the gauge. */
  counts(): { open: number; halfOpen: number };
}

const CLOSED: EndpointCircuit = { state: 'closed', failures: 0 };

/**
 * @example
 * const breakers = createEndpointBreakers();
 * const a = breakers.admit(ep.id, Date.now(), settings.breaker);
 * if (!a.ok) return { wait: a.until };
 * // … attempt …
 * breakers.record(ep.id, outcome.kind === 'delivered' ? 'ok' : 'failed', a.trial, Date.now(), settings.breaker);
 */
export function createEndpointBreakers(max = 100_000): EndpointBreakers {
  // Closed breakers with no failures are not kept: an endpoint missing here is healthy.
  const circuits = new LRUCache<string, EndpointCircuit>({ max });

  return {
    admit(endpoint, now) {
      const c = circuits.get(endpoint);
      if (c === undefined || c.state === 'closed') return { ok: true, trial: false };
      if (c.state === 'open') {
        if (now < c.until) return { ok: false, until: c.until };
        circuits.set(endpoint, { state: 'half-open', cooldownMs: c.cooldownMs, trialSince: now });
        return { ok: true, trial: true };
      }
      if (c.trialSince !== undefined && now - c.trialSince < TRIAL_STALE_MS)
        return { ok: false, until: now + TRIAL_WAIT_MS };
      c.trialSince = now;
      return { ok: true, trial: true };
    },
    record(endpoint, result, trial, now, settings) {
      const c = circuits.get(endpoint) ?? CLOSED;
      if (c.state === 'half-open' && trial) {
        if (result === 'failed') {
          const cooldownMs = Math.min(settings.maxCooldownMs, c.cooldownMs * 2);
          circuits.set(endpoint, { state: 'open', until: now + cooldownMs, cooldownMs });
          return 'reopened';
        }
        if (result === 'ok') {
          circuits.delete(endpoint);
          return 'closed';
        }
        // Refused but up, or not tried (shutdown): let the next delivery be the trial.
        c.trialSince = undefined;
        return undefined;
      }
      if (c.state !== 'closed') {
        // An attempt admitted before the breaker opened: a success still proves the endpoint is up.
        if (result === 'ok') {
          circuits.delete(endpoint);
          return 'closed';
        }
        return undefined;
      }
      if (result === 'ok') {
        if (c.failures > 0) circuits.delete(endpoint);
        return undefined;
      }
      if (result === 'neutral') return undefined;
      const failures = c.failures + 1;
      if (failures >= settings.failures) {
        const cooldownMs = Math.min(settings.cooldownMs, settings.maxCooldownMs);
        circuits.set(endpoint, { state: 'open', until: now + cooldownMs, cooldownMs });
        return 'opened';
      }
      circuits.set(endpoint, { state: 'closed', failures });
      return undefined;
    },
    state: (endpoint) => circuits.get(endpoint) ?? CLOSED,
    counts() {
      let open = 0;
      let halfOpen = 0;
      for (const c of circuits.values()) {
        if (c.state === 'open') open++;
        else if (c.state === 'half-open') halfOpen++;
      }
      return { open, halfOpen };
    },
  };
}
