/**
 * Sessions in Redis, shared by every node with the same `keyPrefix`. Layout:
 *
 * - `s:<id>` hash: `d` = the session JSON, `ls`/`ex` = last seen and idle expiry (touched without
 *   rewriting the tokens); the key expires with the session (`PEXPIREAT`)
 * - `r:<id>` string: the refresh claim, `SET NX PX`
 * - `l:<id>` string: a pending login JSON, taken with `GETDEL` so a `state` works once (Redis ≥ 6.2)
 *
 * Ids are already SHA-256 digests and token fields are already sealed (crypto.ts).
 */
import { Redis } from 'ioredis';
import type { PendingLogin, SessionRecord, SessionTokens } from '../../../store/index.ts';
import type { SessionStore } from './stores.ts';

export interface RedisSessionStoreOptions {
  url: string;
  keyPrefix: string;
  onError?: (err: Error) => void;
}

export class RedisSessionStore implements SessionStore {
  readonly client: Redis;
  readonly #prefix: string;

  constructor(options: RedisSessionStoreOptions) {
    this.#prefix = options.keyPrefix;
    // Lazy: `junction validate` compiles routes without serving and must not hold a connection.
    this.client = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      commandTimeout: 2000,
    });
    this.client.on('error', (err: Error) => options.onError?.(err));
  }

  #key(kind: 's' | 'r' | 'l', id: string): string {
    return `${this.#prefix}${kind}:${id}`;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const h = await this.client.hgetall(this.#key('s', id));
    if (h.d === undefined) return undefined;
    const s = JSON.parse(h.d) as SessionRecord;
    return { ...s, lastSeenAt: Number(h.ls ?? s.lastSeenAt), expiresAt: Number(h.ex ?? s.expiresAt) };
  }

  async create(s: SessionRecord): Promise<void> {
    const key = this.#key('s', s.id);
    await this.client
      .multi()
      .hset(key, 'd', JSON.stringify(s), 'ls', s.lastSeenAt, 'ex', s.expiresAt)
      .pexpireat(key, s.expiresAt)
      .exec();
  }

  async touch(id: string, lastSeenAt: number, expiresAt: number): Promise<void> {
    const key = this.#key('s', id);
    // XX-like: only an existing session slides; HSET on a deleted one would resurrect a stub.
    if ((await this.client.exists(key)) === 0) return;
    await this.client.multi().hset(key, 'ls', lastSeenAt, 'ex', expiresAt).pexpireat(key, expiresAt).exec();
  }

  async setTokens(id: string, t: SessionTokens): Promise<void> {
    const current = await this.get(id);
    if (current === undefined) return;
    await this.client
      .multi()
      .hset(this.#key('s', id), 'd', JSON.stringify({ ...current, ...t }))
      .del(this.#key('r', id))
      .exec();
  }

  async claimRefresh(id: string, seenAccessExpiresAt: number, now: number, until: number): Promise<boolean> {
    const claim = this.#key('r', id);
    if ((await this.client.set(claim, '1', 'PX', Math.max(1, until - now), 'NX')) !== 'OK') return false;
    // Refreshed by someone else since the caller read it: not ours to refresh again.
    if ((await this.get(id))?.accessExpiresAt === seenAccessExpiresAt) return true;
    await this.client.del(claim);
    return false;
  }

  async delete(id: string): Promise<void> {
    await this.client.del(this.#key('s', id), this.#key('r', id));
  }

  async createLogin(l: PendingLogin): Promise<void> {
    await this.client.set(
      this.#key('l', l.id),
      JSON.stringify(l),
      'PX',
      Math.max(1, l.expiresAt - l.createdAt),
    );
  }

  async takeLogin(id: string, now: number): Promise<PendingLogin | undefined> {
    const v = await this.client.getdel(this.#key('l', id));
    if (v === null) return undefined;
    const l = JSON.parse(v) as PendingLogin;
    return l.expiresAt > now ? l : undefined;
  }

  async sweep(): Promise<void> {}

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
