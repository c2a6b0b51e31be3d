/**
 * The shared store: Redis, so every gateway node answers from one cache (a hit on node B for what
 * node A stored). Layout under `keyPrefix` (hashed names keep long URIs out of key names):
 *
 * - `e:<sha256(key)>`     hash: `m` = metadata JSON, `b` = body bytes (binary-safe Buffer)
 * - `v:<sha256(primary)>` string: the Vary names recorded for the primary key (JSON)
 * - `u:<sha256(uri)>`     set: every `e:`/`v:` key stored for the URI, for invalidation
 * - `l:<sha256(name)>`    lock: `SET NX PX` claim for coalescing and background refresh
 *
 * Everything expires with `PX`: an entry after its retention time, the Vary record and the index
 * after the longest-lived entry they describe (`PEXPIRE NX` then `PEXPIRE GT`, Redis ≥ 7).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CacheEntry } from './entry.ts';
import type { CacheStore, PutEntry } from './store.ts';

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  /** Per-command timeout: a slow Redis turns into a miss, not a slow request. */
  timeoutMs: number;
  onError?: (err: Error) => void;
}

type Meta = Omit<CacheEntry, 'body'>;

/** Deletes the URI's index and everything it lists, atomically (RFC 9111 §4.4 invalidation). */
const INVALIDATE = `
local members = redis.call('SMEMBERS', KEYS[1])
for i = 1, #members do redis.call('DEL', members[i]) end
redis.call('DEL', KEYS[1])
return #members`;

/** Releases a lock only if it is still ours (it may have expired and been taken by another node). */
const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

function hashed(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}

/**
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'junction:cache:', timeoutMs: 500 });
 */
export class RedisStore implements CacheStore {
  readonly kind = 'redis';
  readonly client: Redis;
  readonly #prefix: string;
  readonly #owner = randomBytes(9).toString('base64url');
  readonly #held = new Map<string, string>();
  #seq = 0;

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix;
    this.client = new Redis(options.url, {
      // Connect on the first command: `junction validate` compiles routes without serving, and a
      // connection it never uses would keep the process alive.
      lazyConnect: true,
      commandTimeout: options.timeoutMs,
      // One retry per command, then fail: the cache is an optimisation and the request goes upstream.
      maxRetriesPerRequest: 1,
      // After a refused connection ioredis waits this long on a socket that is already gone
      // (AbstractConnector#disconnect) before shutdown can finish; its default is 2 s.
      disconnectTimeout: options.timeoutMs,
    });
    this.client.on('error', (err: Error) => options.onError?.(err));
  }

  #key(kind: 'e' | 'v' | 'u' | 'l', s: string): string {
    return `${this.#prefix}${kind}:${hashed(s)}`;
  }

  async varyOf(primary: string): Promise<string[] | undefined> {
    const v = await this.client.get(this.#key('v', primary));
    return v === null ? undefined : (JSON.parse(v) as string[]);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const [meta, body] = await this.client.hmgetBuffer(this.#key('e', key), 'm', 'b');
    if (!meta || !body) return undefined;
    return { ...(JSON.parse(meta.toString('utf8')) as Meta), body };
  }

  async put(p: PutEntry): Promise<void> {
    const { body, ...meta } = p.entry;
    const ttl = Math.max(1, Math.ceil(p.ttlMs));
    const e = this.#key('e', p.key);
    const v = this.#key('v', p.primary);
    const u = this.#key('u', p.uri);
    await this.client
      .multi()
      .hset(e, 'm', JSON.stringify(meta), 'b', body)
      .pexpire(e, ttl)
      // The latest Vary wins (RFC 9111 §4.1); its record lives as long as the longest variant.
      .set(v, JSON.stringify(p.entry.vary), 'KEEPTTL')
      .pexpire(v, ttl, 'NX')
      .pexpire(v, ttl, 'GT')
      .sadd(u, e, v)
      .pexpire(u, ttl, 'NX')
      .pexpire(u, ttl, 'GT')
      .exec();
  }

  async invalidate(uri: string): Promise<number> {
    return (await this.client.eval(INVALIDATE, 1, this.#key('u', uri))) as number;
  }

  async lock(name: string, ttlMs: number): Promise<boolean> {
    const token = `${this.#owner}.${++this.#seq}`;
    const ok = await this.client.set(this.#key('l', name), token, 'PX', Math.max(1, ttlMs), 'NX');
    if (ok !== 'OK') return false;
    this.#held.set(name, token);
    return true;
  }

  async unlock(name: string): Promise<void> {
    const token = this.#held.get(name);
    if (token === undefined) return;
    this.#held.delete(name);
    await this.client.eval(UNLOCK, 1, this.#key('l', name), token);
  }

  async locked(name: string): Promise<boolean> {
    return (await this.client.exists(this.#key('l', name))) === 1;
  }

  /** Not counted: it would take a SCAN of the shared keyspace; Redis's own INFO reports memory. */
  storedBytes(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
