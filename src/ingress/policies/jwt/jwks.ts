/**
 * A JWKS (RFC 7517 §5) fetched from a URL, cached and refetched with a cooldown. jose's
 * `createRemoteJWKSet` has the same two knobs, but counts its cooldown from the last *successful*
 * fetch: while the endpoint fails, every request with an unknown `kid` fetches again. Here every
 * attempt, failed or not, starts the cooldown, so a flood of tokens with made-up `kid`s costs the
 * JWKS endpoint at most one request per cooldown; the clock and fetch are injectable for tests.
 *
 * - Keys are fetched on first use and refetched when older than `cacheMaxAgeMs`.
 * - A `kid` not in the set triggers one refetch, unless one was tried within `cooldownMs`.
 * - When a refetch fails, the keys from the last good fetch stay in use (availability over
 *   freshness; a removed key is still refused once a fetch succeeds).
 * - Concurrent misses share one fetch.
 */
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWTHeaderParameters,
} from 'jose';

type LocalSet = ReturnType<typeof createLocalJWKSet>;
type Key = Awaited<ReturnType<LocalSet>>;

export interface JwksOptions {
  url: string;
  cacheMaxAgeMs: number;
  cooldownMs: number;
  timeoutMs: number;
  now?: () => number;
  fetch?: typeof fetch;
  /** Told about every failed fetch (the policy logs it). */
  onError?: (err: Error) => void;
}

/** Raised when there are no keys at all to judge a token with. */
export class JwksFetchError extends Error {
  override name = 'JwksFetchError';
}

/** A JWKS larger than this is refused: a key set is a few KiB. */
const MAX_JWKS_BYTES = 512 * 1024;

export class JwksCache {
  readonly #opts: JwksOptions;
  readonly #now: () => number;
  #local: LocalSet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<void> | undefined;
  /** Fetches attempted so far (for tests and the admin view). */
  fetches = 0;

  constructor(opts: JwksOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** jose's key resolver signature: `jwtVerify(token, (h, t) => cache.getKey(h, t))`. */
  async getKey(header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<Key> {
    const now = this.#now();
    const stale = now - this.#fetchedAt >= this.#opts.cacheMaxAgeMs;
    if ((this.#local === undefined || stale) && this.#mayFetch(now)) await this.#refresh();
    if (this.#local === undefined) throw new JwksFetchError(`no keys from ${this.#opts.url}`);
    try {
      return await this.#local(header, token);
    } catch (err) {
      // RFC 7517 §5 has no rotation signal: an unknown kid is the hint that keys changed.
      if (!(err instanceof errors.JWKSNoMatchingKey) || !this.#mayFetch(this.#now())) throw err;
      await this.#refresh();
      return this.#local(header, token);
    }
  }

  #mayFetch(now: number): boolean {
    return this.#pending !== undefined || now - this.#attemptedAt >= this.#opts.cooldownMs;
  }

  #refresh(): Promise<void> {
    if (this.#pending) return this.#pending;
    this.#attemptedAt = this.#now();
    this.fetches++;
    this.#pending = this.#fetch()
      .then(
        (jwks) => {
          this.#local = createLocalJWKSet(jwks);
          this.#fetchedAt = this.#now();
        },
        (err: Error) => this.#opts.onError?.(err),
      )
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }

  async #fetch(): Promise<JSONWebKeySet> {
    const doFetch = this.#opts.fetch ?? fetch;
    const res = await doFetch(this.#opts.url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      // A redirect could point the gateway anywhere; a JWKS URL is configured exactly.
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#opts.timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS ${this.#opts.url} answered ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_JWKS_BYTES) {
      await res.body?.cancel();
      throw new Error(`JWKS ${this.#opts.url} is larger than ${MAX_JWKS_BYTES} bytes`);
    }
    const text = await res.text();
    if (text.length > MAX_JWKS_BYTES)
      throw new Error(`JWKS ${this.#opts.url} is larger than ${MAX_JWKS_BYTES} bytes`);
    const jwks = JSON.parse(text) as JSONWebKeySet;
    if (!jwks || !Array.isArray(jwks.keys)) throw new Error(`JWKS ${this.#opts.url} has no keys array`);
    // RFC 8725 §3.1 / §2.1: a symmetric key published in a JWKS must never verify anything.
    jwks.keys = jwks.keys.filter((k) => k && typeof k === 'object' && k.kty !== 'oct');
    return jwks;
  }
}
