/**
 * The storage a cache policy uses: an in-process LRU (`store-memory.ts`) or Redis, which several
 * gateway nodes share (`store-redis.ts`). Both keep three things per entry: the variant itself, the
 * `Vary` names recorded for its primary key (needed before a variant key can be computed), and an
 * index from the URI to its keys, so that invalidation (RFC 9111 §4.4) reaches every variant.
 */
import type { CacheEntry } from './entry.ts';

export interface PutEntry {
  uri: string;
  primary: string;
  key: string;
  entry: CacheEntry;
  /** How long the store keeps it: freshness plus the stale windows that can still use it. */
  ttlMs: number;
}

export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  /** `Vary` field names recorded for a primary key; undefined when nothing is stored under it. */
  varyOf(primary: string): Promise<string[] | undefined>;
  get(key: string): Promise<CacheEntry | undefined>;
  put(p: PutEntry): Promise<void>;
  /** Drops every variant stored for the URI; resolves to how many keys went. */
  invalidate(uri: string): Promise<number>;
  /**
   * A short exclusive claim on `name` across every node sharing the store (`SET NX PX`); true when
   * this caller holds it. The memory store always says yes: in-process coalescing already decided.
   */
  lock(name: string, ttlMs: number): Promise<boolean>;
  unlock(name: string): Promise<void>;
  /** Whether someone holds the claim (followers on other nodes poll this). */
  locked(name: string): Promise<boolean>;
  /** Bytes held, when the store can tell cheaply (memory); read at scrape time. */
  storedBytes(): number | undefined;
  close(): Promise<void>;
}
