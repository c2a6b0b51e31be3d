/**
 * Idempotency keys in Redis, shared by every node with the same prefix. One hash per key under
 * `<prefix><sha256(scope, route, key)>`: `f` fingerprint, `s` state (`l` locked, `c` completed),
 * `t` lease token and `u` lease end while locked, `m` status and headers (JSON) and `b` the body bytes
 * once completed. Retention is the key's `PEXPIRE`, so nothing needs sweeping.
 *
 * Each step is one Lua script (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/),
 * which Redis runs atomically: "take the lease unless the key is held, completed or bound to another
 * fingerprint" is a single decision. A bare `SET NX PX` lease would leave a gap between reading the
 * stored response and taking the lock, and would forget the fingerprint when the lock expired.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type {
  BeginOptions,
  IdempotencyBegin,
  IdempotencyRef,
  IdempotencyStore,
  StoredResponse,
} from './store.ts';

/** KEYS[1]; ARGV: now, fingerprint, token, leaseMs, ttlMs. Mirrors IdempotencyRepository.claimQuery. */
const BEGIN = `
local cur = redis.call('HMGET', KEYS[1], 'f', 's', 'u')
local now = tonumber(ARGV[1])
if cur[1] then
  if cur[1] ~= ARGV[2] then return {'mismatch'} end
  if cur[2] == 'c' then return {'completed', redis.call('HGET', KEYS[1], 'm'), redis.call('HGET', KEYS[1], 'b')} end
  if tonumber(cur[3]) > now then return {'in-use', cur[3]} end
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'f', ARGV[2], 's', 'l', 't', ARGV[3], 'u', tostring(now + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[5]), tonumber(ARGV[4])))
return {'acquired'}`;

/** KEYS[1]; ARGV: token, meta JSON, body, ttlMs. */
const COMPLETE = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 't', 'u')
redis.call('HSET', KEYS[1], 's', 'c', 'm', ARGV[2], 'b', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

/** KEYS[1]; ARGV: token. */
const RELEASE = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

interface Scripted {
  idemBeginBuffer(key: string, ...args: (string | number)[]): Promise<(Buffer | null)[]>;
  idemComplete(key: string, token: string, meta: string, body: Buffer, ttlMs: number): Promise<number>;
  idemRelease(key: string, token: string): Promise<number>;
}

interface Meta {
  status: number;
  headers: StoredResponse['headers'];
  completedAt: number;
}

export interface RedisIdempotencyOptions {
  url: string;
  keyPrefix: string;
  timeoutMs: number;
  onError?: (err: Error) => void;
}

/**
 * @example
 * const store = new RedisIdempotencyStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'junction:idem:', timeoutMs: 1000 });
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly client: Redis;
  readonly #scripts: Scripted;
  readonly #prefix: string;

  constructor(options: RedisIdempotencyOptions) {
    this.#prefix = options.keyPrefix;
    this.client = new Redis(options.url, {
      // Connect on first use: `junction validate` compiles routes without serving (see cache).
      lazyConnect: true,
      commandTimeout: options.timeoutMs,
      maxRetriesPerRequest: 1,
      disconnectTimeout: options.timeoutMs,
    });
    this.client.on('error', (err: Error) => options.onError?.(err));
    // defineCommand sends EVALSHA and falls back to EVAL once per connection.
    this.client.defineCommand('idemBegin', { numberOfKeys: 1, lua: BEGIN });
    this.client.defineCommand('idemComplete', { numberOfKeys: 1, lua: COMPLETE });
    this.client.defineCommand('idemRelease', { numberOfKeys: 1, lua: RELEASE });
    this.#scripts = this.client as unknown as Scripted;
  }

  #key(ref: IdempotencyRef): string {
    const id = createHash('sha256').update(`${ref.scope}\0${ref.route}\0${ref.key}`).digest('base64url');
    return this.#prefix + id;
  }

  async begin(ref: IdempotencyRef, fingerprint: string, o: BeginOptions): Promise<IdempotencyBegin> {
    const token = randomBytes(12).toString('base64url');
    const reply = await this.#scripts.idemBeginBuffer(
      this.#key(ref),
      o.now,
      fingerprint,
      token,
      o.leaseMs,
      o.ttlMs,
    );
    const outcome = reply[0]?.toString();
    if (outcome === 'acquired') return { outcome, token };
    if (outcome === 'mismatch') return { outcome };
    if (outcome === 'in-use') return { outcome, lockedUntil: Number(reply[1]?.toString()) };
    const meta = JSON.parse(reply[1]!.toString('utf8')) as Meta;
    return {
      outcome: 'completed',
      response: { status: meta.status, headers: meta.headers, body: reply[2] ?? Buffer.alloc(0) },
      completedAt: meta.completedAt,
    };
  }

  async complete(
    ref: IdempotencyRef,
    token: string,
    response: StoredResponse,
    options: { now: number; ttlMs: number },
  ): Promise<boolean> {
    const meta: Meta = { status: response.status, headers: response.headers, completedAt: options.now };
    const done = await this.#scripts.idemComplete(
      this.#key(ref),
      token,
      JSON.stringify(meta),
      response.body,
      options.ttlMs,
    );
    return done === 1;
  }

  async release(ref: IdempotencyRef, token: string): Promise<boolean> {
    return (await this.#scripts.idemRelease(this.#key(ref), token)) === 1;
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
