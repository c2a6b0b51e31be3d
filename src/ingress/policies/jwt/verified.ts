/**
 * Tokens already verified, kept by their exact text (Envoy's `jwt_cache_config`): a client sends the
 * same token for many requests, and a signature check costs tens of microseconds where a map lookup
 * costs nothing. Only the signature and the static claims are remembered; `exp` and `nbf` are
 * checked again on every hit, and an entry is dropped after `maxAgeMs` so a key removed from the
 * JWKS stops being honoured within that bound.
 */
import { LRUCache } from 'lru-cache';
import type { Principal } from '../../../core/principal.ts';

const MAX_TOKEN_CHARS = 4096;

export interface Verified {
  claims: Readonly<Record<string, unknown>>;
  principal: Readonly<Principal>;
  /** Upstream header values from `forward.claims`, `''` for absent claims. */
  forwarded: Readonly<Record<string, string>>;
  exp: number | undefined;
  nbf: number | undefined;
  verifiedAtMs: number;
}

export class VerifiedTokens {
  readonly #lru: LRUCache<string, Verified> | undefined;
  readonly #maxAgeMs: number;
  readonly #toleranceS: number;

  constructor(maxEntries: number, maxAgeMs: number, toleranceS: number) {
    this.#lru = maxEntries > 0 && maxAgeMs > 0 ? new LRUCache({ max: maxEntries }) : undefined;
    this.#maxAgeMs = maxAgeMs;
    this.#toleranceS = toleranceS;
  }

  /** The entry when it is still good at `nowMs`; a stale one is dropped (the caller re-verifies). */
  get(token: string, nowMs: number): Verified | undefined {
    const hit = this.#lru?.get(token);
    if (hit === undefined) return undefined;
    const now = nowMs / 1000;
    // The same comparisons jose makes (RFC 7519 §4.1.4, §4.1.5), so a hit never outlives a miss.
    const good =
      nowMs - hit.verifiedAtMs < this.#maxAgeMs &&
      (hit.exp === undefined || hit.exp > now - this.#toleranceS) &&
      (hit.nbf === undefined || hit.nbf <= now + this.#toleranceS);
    if (good) return hit;
    this.#lru!.delete(token);
    return undefined;
  }

  set(token: string, entry: Verified): void {
    // Keys are whole tokens: an outsized one (a header can hold 16 KiB) is verified but not kept.
    if (token.length <= MAX_TOKEN_CHARS) this.#lru?.set(token, entry);
  }
}

/** Freezes claims all the way down: a cached principal is shared by every request with its token. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
