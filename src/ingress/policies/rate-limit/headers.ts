/**
 * The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-10, structured fields,
 * RFC 9651): `RateLimit-Policy` lists every limit of the route as `"name";q=<quota>;w=<seconds>`,
 * `RateLimit` reports the tightest one as `"name";r=<remaining>;t=<seconds to reset>`. `w` and `t`
 * are whole seconds, rounded up (the draft's Integers). Only `q`, `w`, `r` and `t` are sent: the
 * optional partition key `pk` would echo the client's key back.
 */
import type { Decision } from './algorithms/index.ts';
import type { CompiledLimit } from './limits.ts';

export const POLICY_HEADER = 'ratelimit-policy';
export const STATE_HEADER = 'ratelimit';

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000 - 1e-9));

/** Constant per route: computed at compile time. */
export function policyHeader(limits: readonly CompiledLimit[]): string {
  return limits
    .map((l) => {
      const { limit, windowMs, burst } = l.spec;
      // A GCRA bucket holds `burst` and refills it in burst · windowMs / limit.
      const gcra = l.algorithm.name === 'gcra';
      const q = gcra ? burst : limit;
      const w = gcra ? (burst * windowMs) / limit : windowMs;
      return `"${l.name}";q=${q};w=${Math.max(1, seconds(w))}`;
    })
    .join(', ');
}

export function stateHeader(limit: CompiledLimit, d: Decision): string {
  return `"${limit.name}";r=${d.remaining};t=${seconds(d.resetMs)}`;
}

/**
 * The limit that binds: among refusals the one with the longest wait (every limit must allow a
 * retry), otherwise the one with the fewest remaining (ties: the later reset).
 */
export function tightest(decisions: readonly Decision[]): number {
  let best = 0;
  for (let i = 1; i < decisions.length; i++) {
    const a = decisions[i]!;
    const b = decisions[best]!;
    if (a.allowed !== b.allowed) {
      if (!a.allowed) best = i;
    } else if (!a.allowed) {
      if (a.retryAfterMs > b.retryAfterMs) best = i;
    } else if (a.remaining < b.remaining || (a.remaining === b.remaining && a.resetMs > b.resetMs)) {
      best = i;
    }
  }
  return best;
}

export function retryAfterSeconds(decisions: readonly Decision[]): number {
  let ms = 0;
  for (const d of decisions) if (!d.allowed && d.retryAfterMs > ms) ms = d.retryAfterMs;
  return Math.max(1, seconds(ms));
}
