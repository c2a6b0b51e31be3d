/**
 * The pacing schedule shared by every gateway node through Redis: the GCRA of
 * src/resilience/pacing-store.ts, each operation one Lua script, so that reserving a slot is atomic
 * across nodes and three nodes together stay under the partner's limit. Time is Redis's own
 * (`TIME`; scripts are replicated by effect since Redis 5), so the nodes' clocks need not agree;
 * every value in and out is relative to it.
 *
 * One hash per partner key: `tat` (theoretical arrival time, ms, as a fixed-point string so that a
 * release can compare it exactly), `paused` (ms), `epoch` (congestion events). It expires an hour
 * after its schedule runs out.
 *
 * If Redis fails, the node paces on its own with an in-memory schedule (at the full configured rate,
 * so a cluster may overshoot the partner's limit until Redis is back; adaptive pacing then slows it
 * on the partner's 429s).
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  type Clock,
  createMemoryPacingStore,
  type PacingStore,
  type Reservation,
  type ReserveRequest,
  type ThrottleRequest,
  type ThrottleResult,
} from '../resilience/index.ts';

const KEEP_MS = 3_600_000;

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local function fmt(x) return string.format('%.3f', x) end
local s = redis.call('HMGET', KEYS[1], 'tat', 'paused', 'epoch')
local tat = tonumber(s[1]) or now
local paused = tonumber(s[2]) or 0
local epoch = tonumber(s[3]) or 0
`;

/** ARGV: interval, tolerance, maxWait, keep → {1, wait, epoch, token, backlog} | {0, wait, epoch} */
const RESERVE = `${NOW}
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = math.max(now, tat - tolerance, paused) - now
if wait > tonumber(ARGV[3]) then return {0, fmt(wait), epoch} end
local token = fmt(math.max(now, tat, paused) + interval)
redis.call('HSET', KEYS[1], 'tat', token)
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(token) - now) + tonumber(ARGV[4]))
return {1, fmt(wait), epoch, token, fmt(tonumber(token) - now)}`;

/** ARGV: token, interval → 1 when the slot was the last one and is given back */
const RELEASE = `if redis.call('HGET', KEYS[1], 'tat') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', tonumber(ARGV[1]) - tonumber(ARGV[2])))
  return 1
end
return 0`;

/** ARGV: epoch seen, pauseMs, decrease (0/1), keep → {epoch, pausedMs} */
const THROTTLE = `${NOW}
if ARGV[3] == '1' and tonumber(ARGV[1]) == epoch then epoch = epoch + 1 end
paused = math.max(paused, now + tonumber(ARGV[2]))
tat = math.max(tat, paused)
redis.call('HSET', KEYS[1], 'tat', fmt(tat), 'paused', fmt(paused), 'epoch', epoch)
redis.call('PEXPIRE', KEYS[1], math.ceil(tat - now) + tonumber(ARGV[4]))
return {epoch, fmt(paused - now)}`;

/** → pausedMs */
const PAUSED = `${NOW}
return fmt(math.max(0, paused - now))`;

interface Script {
  lua: string;
  sha: string;
}

const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });
const SCRIPTS = {
  reserve: script(RESERVE),
  release: script(RELEASE),
  throttle: script(THROTTLE),
  paused: script(PAUSED),
};

/**
 * One connection per gateway for all its pacers. Commands fail after `timeoutMs` (the call is then
 * paced locally) rather than hold requests while Redis is away.
 */
export function connectPacingRedis(url: string, timeoutMs: number, onError: (err: Error) => void): Redis {
  const client = new Redis(url, {
    // Connect on the first command: `junction validate` compiles routes without serving.
    lazyConnect: true,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    disconnectTimeout: timeoutMs,
  });
  client.on('error', onError);
  return client;
}

export interface RedisPacingStoreOptions {
  client: Redis;
  /** The partner's key, prefix included: nodes pacing one partner name the same key. */
  key: string;
  clock: Clock;
  /** Redis failed and this call was paced locally. */
  onError?: (err: unknown) => void;
}

/**
 * @example
 * const store = createRedisPacingStore({ client, key: 'junction:pacing:partner', clock: systemClock });
 * const pacer = createPacer({ requests: 100, perMs: 60_000, store });
 */
export function createRedisPacingStore(options: RedisPacingStoreOptions): PacingStore {
  const { client, key, clock } = options;
  const local = createMemoryPacingStore(clock);
  let seen = { at: clock.now(), backlogMs: 0, pausedMs: 0 };

  // After a failure, calls go local at once until ioredis has reconnected (in the background),
  // instead of each waiting out the command timeout.
  let failed = false;
  const run = async (s: Script, args: (string | number)[]): Promise<unknown> => {
    if (failed && client.status !== 'ready') throw new Error(`redis is ${client.status}`);
    try {
      const reply = await client.evalsha(s.sha, 1, key, ...args).catch((err: Error) => {
        if (!err.message.startsWith('NOSCRIPT')) throw err;
        return client.eval(s.lua, 1, key, ...args);
      });
      failed = false;
      return reply;
    } catch (err) {
      failed = true;
      throw err;
    }
  };
  const fallback = <R>(err: unknown, answer: () => R): R => {
    options.onError?.(err);
    return answer();
  };

  return {
    kind: 'redis',
    async reserve(request: ReserveRequest): Promise<Reservation> {
      const { intervalMs, toleranceMs, maxWaitMs } = request;
      try {
        const r = (await run(SCRIPTS.reserve, [intervalMs, toleranceMs, maxWaitMs, KEEP_MS])) as [
          number,
          string,
          number,
          string?,
          string?,
        ];
        const waitMs = Number(r[1]);
        if (r[0] !== 1) return { ok: false, waitMs, epoch: r[2] };
        seen = { ...seen, at: clock.now(), backlogMs: Number(r[4]) };
        return { ok: true, waitMs, token: r[3]!, epoch: r[2] };
      } catch (err) {
        return fallback(err, () => local.reserve(request));
      }
    },
    async release(token, intervalMs) {
      if (typeof token === 'number') return local.release(token, intervalMs);
      await run(SCRIPTS.release, [token, intervalMs]).catch((err: unknown) => options.onError?.(err));
    },
    async throttle(request: ThrottleRequest): Promise<ThrottleResult> {
      const { epoch, pauseMs, decrease } = request;
      try {
        const r = (await run(SCRIPTS.throttle, [epoch, pauseMs, decrease ? 1 : 0, KEEP_MS])) as [
          number,
          string,
        ];
        seen = { ...seen, at: clock.now(), pausedMs: Number(r[1]) };
        return { epoch: r[0], pausedMs: Number(r[1]) };
      } catch (err) {
        return fallback(err, () => local.throttle(request));
      }
    },
    async pausedMs() {
      try {
        const pausedMs = Number(await run(SCRIPTS.paused, []));
        seen = { ...seen, at: clock.now(), pausedMs };
        return pausedMs;
      } catch (err) {
        return fallback(err, () => local.pausedMs());
      }
    },
    snapshot() {
      const elapsed = clock.now() - seen.at;
      const mine = local.snapshot();
      return {
        backlogMs: Math.max(0, seen.backlogMs - elapsed, mine.backlogMs),
        pausedMs: Math.max(0, seen.pausedMs - elapsed, mine.pausedMs),
      };
    },
  };
}
