/**
 * The in-process store: `lru-cache` bounded by bytes (`maxSize` with a `sizeCalculation`), so a
 * few large bodies and many small ones share one budget, and each entry expires after its own
 * retention time. The Vary record and the URI index are plain Maps kept in step through the LRU's
 * `dispose`, so they never outlive the entries they point at.
 */
import { LRUCache } from 'lru-cache';
import { type CacheEntry, entrySize } from './entry.ts';
import type { CacheStore, PutEntry } from './store.ts';

interface Item {
  entry: CacheEntry;
  primary: string;
}

interface Variants {
  uri: string;
  vary: string[];
  keys: Set<string>;
}

export interface MemoryStoreOptions {
  maxBytes: number;
}

/**
 * @example
 * const store = new MemoryStore({ maxBytes: 64 * 1024 * 1024 });
 * await store.put({ uri, primary: uri, key: uri, entry, ttlMs: 60_000 });
 */
export class MemoryStore implements CacheStore {
  readonly kind = 'memory';
  readonly #lru: LRUCache<string, Item>;
  readonly #variants = new Map<string, Variants>();
  readonly #byUri = new Map<string, Set<string>>();

  constructor(options: MemoryStoreOptions) {
    this.#lru = new LRUCache<string, Item>({
      maxSize: options.maxBytes,
      sizeCalculation: (item, key) => entrySize(item.entry) + key.length,
      dispose: (item, key, reason) => {
        // A replaced value keeps its key: the indexes still hold.
        if (reason !== 'set') this.#forget(item.primary, key);
      },
    });
  }

  async varyOf(primary: string): Promise<string[] | undefined> {
    return this.#variants.get(primary)?.vary;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    return this.#lru.get(key)?.entry;
  }

  async put(p: PutEntry): Promise<void> {
    this.#lru.set(p.key, { entry: p.entry, primary: p.primary }, { ttl: p.ttlMs });
    // Over the budget on its own, the LRU refuses it; nothing to index then.
    if (!this.#lru.has(p.key)) return;
    let variants = this.#variants.get(p.primary);
    if (variants === undefined) {
      variants = { uri: p.uri, vary: p.entry.vary, keys: new Set() };
      this.#variants.set(p.primary, variants);
    }
    // The latest response's Vary decides how the next request is keyed (RFC 9111 §4.1).
    variants.vary = p.entry.vary;
    variants.keys.add(p.key);
    let primaries = this.#byUri.get(p.uri);
    if (primaries === undefined) {
      primaries = new Set();
      this.#byUri.set(p.uri, primaries);
    }
    primaries.add(p.primary);
  }

  async invalidate(uri: string): Promise<number> {
    let n = 0;
    for (const primary of [...(this.#byUri.get(uri) ?? [])]) {
      for (const key of [...(this.#variants.get(primary)?.keys ?? [])]) {
        if (this.#lru.delete(key)) n++;
      }
    }
    return n;
  }

  async lock(): Promise<boolean> {
    return true;
  }

  async unlock(): Promise<void> {}

  async locked(): Promise<boolean> {
    return false;
  }

  storedBytes(): number {
    return this.#lru.calculatedSize;
  }

  /** How many entries are held (tests). */
  get size(): number {
    return this.#lru.size;
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }

  #forget(primary: string, key: string): void {
    const variants = this.#variants.get(primary);
    if (variants === undefined) return;
    variants.keys.delete(key);
    if (variants.keys.size > 0) return;
    this.#variants.delete(primary);
    const primaries = this.#byUri.get(variants.uri);
    primaries?.delete(primary);
    if (primaries?.size === 0) this.#byUri.delete(variants.uri);
  }
}
