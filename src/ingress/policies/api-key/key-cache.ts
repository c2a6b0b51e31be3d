/**
 * Looked-up keys, reused for `cacheTtlMs` so a busy key costs one store query per TTL, not one per
 * request. Unknown prefixes are cached too (bounded), so a flood of made-up keys cannot turn into a
 * flood of queries; concurrent lookups of one prefix share one query. A revocation, an expiry date
 * change or a new key is therefore seen within the TTL (docs/auth.md). Failed lookups are not cached.
 *
 * A hit is returned synchronously, so the policy keeps the request synchronous (docs/lifecycle.md).
 */
import { LRUCache } from 'lru-cache';
import type { ApiKey } from '../../../store/index.ts';

export type Lookup = (prefix: string) => Promise<ApiKey | undefined>;

/** null: looked up, no such key. */
type Entry = { key: ApiKey | null };

export interface KeyCacheOptions {
  ttlMs: number;
  /** Most prefixes remembered (known and unknown); the least recently used go first. */
  max?: number;
  /** Clock for the TTL; tests pass a fake one. */
  now?: () => number;
}

export class KeyCache {
  readonly #lookup: Lookup;
  readonly #cache: LRUCache<string, Entry> | undefined;
  readonly #inFlight = new Map<string, Promise<ApiKey | null>>();

  constructor(lookup: Lookup, options: KeyCacheOptions) {
    this.#lookup = lookup;
    // lru-cache reads ttl 0 as "never expires"; 0 here means "do not cache".
    this.#cache =
      options.ttlMs > 0
        ? new LRUCache<string, Entry>({
            max: options.max ?? 10_000,
            ttl: options.ttlMs,
            ttlAutopurge: false,
            // Read the clock on every get: lru-cache otherwise reuses one reading for a millisecond.
            ttlResolution: 0,
            ...(options.now ? { perf: { now: options.now } } : {}),
          })
        : undefined;
  }

  /** The key (or null) at once when cached, otherwise a promise of it. */
  get(prefix: string): ApiKey | null | Promise<ApiKey | null> {
    const hit = this.#cache?.get(prefix);
    if (hit !== undefined) return hit.key;
    let pending = this.#inFlight.get(prefix);
    if (pending === undefined) {
      pending = this.#lookup(prefix).then(
        (key) => {
          this.#inFlight.delete(prefix);
          const entry = { key: key ?? null };
          this.#cache?.set(prefix, entry);
          return entry.key;
        },
        (err: unknown) => {
          this.#inFlight.delete(prefix);
          throw err;
        },
      );
      this.#inFlight.set(prefix, pending);
    }
    return pending;
  }
}
