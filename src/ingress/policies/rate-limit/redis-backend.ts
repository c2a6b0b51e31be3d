/**
 * The cluster backend: every node decides against one Redis, at most one round trip per request:
 * all its limits in one script call (./lua.ts), which also carries the other requests that arrived
 * in the same event-loop turn. The script goes by `EVALSHA`; a Redis that does not know it
 * (restarted, `SCRIPT FLUSH`, a failover) answers NOSCRIPT and gets it once by `EVAL`, which also
 * caches it again.
 *
 * Failing fast matters more than waiting: each call has `timeoutMs` (50 ms by default), and while
 * the connection is down after having been up, calls fail at once instead of queueing; ioredis
 * reconnects in the background (100 ms, 200 ms, … up to 1 s apart) and decisions resume with no
 * restart. A timed-out call may still have run on Redis, so it may have counted the request.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Decision } from './algorithms/index.ts';
import type { Backend, Item } from './backend.ts';
import { DECIDE, DECIDE_SHA } from './lua.ts';

export interface RedisBackendOptions {
  url: string;
  keyPrefix: string;
  timeoutMs: number;
  onError?: (err: Error) => void;
  /** Tests only: decide on this clock instead of Redis `TIME`. */
  clock?: () => number;
}

/** Requests decided by one script call at most; more wait for the next. */
const MAX_BATCH = 128;

interface Pending {
  items: readonly Item[];
  resolve(d: Decision[]): void;
  reject(err: unknown): void;
}

export class RedisUnavailableError extends Error {
  constructor() {
    super('redis connection is down');
    this.name = 'RedisUnavailableError';
  }
}

/**
 * @example
 * const backend = new RedisBackend({ url: 'redis://127.0.0.1:6379', keyPrefix: 'junction:rl:', timeoutMs: 50 });
 * await backend.decide([{ limit, key: '127.0.0.1' }]);
 */
export class RedisBackend implements Backend {
  readonly kind = 'redis';
  readonly client: Redis;
  readonly #prefix: string;
  readonly #clock: (() => number) | undefined;
  readonly #node = randomBytes(6).toString('base64url');
  #seq = 0;
  #everReady = false;
  #queue: Pending[] = [];

  constructor(options: RedisBackendOptions) {
    this.#prefix = options.keyPrefix;
    this.#clock = options.clock;
    this.client = new Redis(options.url, {
      // Connect on the first decision: `junction validate` compiles routes without serving.
      lazyConnect: true,
      commandTimeout: options.timeoutMs,
      connectTimeout: Math.max(1000, options.timeoutMs),
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(times * 100, 1000),
      disconnectTimeout: options.timeoutMs,
      // Batches of successive loop turns in flight together share a write to the socket.
      enableAutoPipelining: true,
    });
    this.client.on('ready', () => {
      this.#everReady = true;
    });
    this.client.on('error', (err: Error) => options.onError?.(err));
  }

  decide(items: readonly Item[]): Promise<Decision[]> {
    // Before the first connection commands wait in the offline queue (bounded by the timeout);
    // after an outage they fail at once while ioredis reconnects.
    if (this.#everReady && this.client.status !== 'ready') return Promise.reject(new RedisUnavailableError());
    return new Promise((resolve, reject) => {
      this.#queue.push({ items, resolve, reject });
      if (this.#queue.length >= MAX_BATCH) this.#flush();
      else if (this.#queue.length === 1) setImmediate(this.#flush);
    });
  }

  /**
   * Sends what queued up in this event-loop turn as one script call. `setImmediate` runs after the
   * poll phase, so the requests parsed from every socket that was readable are decided together,
   * for at most one loop turn of delay.
   */
  readonly #flush = (): void => {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const keys: string[] = [];
    const argv: string[] = [
      this.#clock === undefined ? '' : this.#clock().toFixed(3),
      `${this.#node}.${++this.#seq}`,
      String(batch.length),
    ];
    for (const { items } of batch) {
      argv.push(String(items.length));
      for (const { limit, key } of items) {
        keys.push(`${this.#prefix}${limit.id}:${key}`);
        argv.push(...limit.argv);
      }
    }
    this.#run(keys, argv).then(
      (reply) => {
        let r = 0;
        for (const { items, resolve } of batch) {
          r++; // the request's "all allowed", implied by its limits' answers
          const decisions: Decision[] = new Array(items.length);
          for (let i = 0; i < items.length; i++, r += 4) {
            const { spec, algorithm } = items[i]!.limit;
            decisions[i] = {
              allowed: reply[r] === 1,
              limit: algorithm.name === 'gcra' ? spec.burst : spec.limit,
              remaining: reply[r + 1]!,
              resetMs: reply[r + 2]!,
              retryAfterMs: reply[r + 3]!,
            };
          }
          resolve(decisions);
        }
      },
      (err: unknown) => {
        for (const { reject } of batch) reject(err);
      },
    );
  };

  async #run(keys: string[], argv: string[]): Promise<number[]> {
    try {
      return (await this.client.evalsha(DECIDE_SHA, keys.length, ...keys, ...argv)) as number[];
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await this.client.eval(DECIDE, keys.length, ...keys, ...argv)) as number[];
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
