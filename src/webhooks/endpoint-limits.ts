/**
 * Per-endpoint rate and concurrency limits of outbound webhooks, enforced by waiting, never by
 * dropping (issue #7; Svix's open-source server stores `rate_limit` and never enforces it).
 *
 * - **Rate** (`rate_limit`, deliveries per second; the endpoint's, else its application's): a GCRA
 *   schedule per endpoint — the pacer's store (src/resilience/pacing-store.ts), in memory, or shared
 *   by every node through Redis when the gateway has `redis.url` (src/cluster/pacing-redis.ts, key
 *   `junction:webhooks:rate:<endpoint id>`). A delivery reserves the next slot. A slot a few ms away
 *   (SLEEP_IN_PLACE_MS) is waited for in place; a later one within HORIZON_MS is *booked*: the
 *   delivery goes back to the queue (postponed, no attempt counted) due at its slot, and this node
 *   remembers the booking, so when it claims the delivery again it sends without reserving twice. A
 *   slot beyond the horizon is not reserved: the delivery *and the endpoint's whole due backlog* are
 *   pushed to when the schedule frees up, in one indexed UPDATE (`backlogUntil`), spread one interval
 *   apart (`backlogSpacingMs`), so 10,000 queued deliveries to a 10/s endpoint cost one statement
 *   per horizon instead of a claim-and-postpone loop. A delivery booked by one node and claimed by
 *   another books again there: the slot is wasted, so the rate can only fall below the limit, never
 *   exceed it.
 * - **Concurrency** (`max_concurrency`): attempts in flight per endpoint, **per node** (with N
 *   nodes an endpoint may see N × max_concurrency). A place frees every expected attempt time ÷
 *   max, the expected time being the median of the last attempts (an attempt that hung for the
 *   whole timeout does not set it, as it would an average) and at least how long the oldest attempt
 *   in flight has run (a hanging endpoint is not expected to free a place soon). A delivery over the
 *   limit waits in line in memory — at most `max` of them, only while a place is expected within
 *   QUEUE_WAIT_MS — and is handed the place of the attempt that ends (at its HTTP answer, before
 *   the attempt is recorded), so a busy endpoint's places do not idle until the next claim round.
 *   Any other goes back to the queue for one expected wait plus a random part of another (a claim
 *   round's held deliveries do not return together), and the due backlog is pushed whole
 *   ≥ BACKLOG_PUSH_MS on, at most once per BACKLOG_PUSH_MS per endpoint. Not spread at an estimated
 *   pace like the rate's: tried, an estimate off either way (a first attempt that hung; SQLite's
 *   writes, not the endpoint, being the bottleneck) idled the endpoint or churned the queue.
 *   `npm run bench -- webhooks` (`limited`) measures it; docs/benchmarks.md has the figures.
 *
 * Held deliveries hold no worker slot (the worker postpones them and claims other work), except the
 * few waiting in line, each for less than a second.
 */
import { LRUCache } from 'lru-cache';
import { connectPacingRedis, createRedisPacingStore } from '../cluster/index.ts';
import { type Logger, throttledWarn } from '../core/logger.ts';
import {
  createMemoryPacingStore,
  type PacingStore,
  type Reservation,
  systemClock,
} from '../resilience/index.ts';

/** A slot this close is waited for in place (less than a store round trip). */
export const SLEEP_IN_PLACE_MS = 5;
/** Slots are booked up to this far ahead; beyond it the backlog is pushed back in bulk. */
export const HORIZON_MS = 30_000;
/** A booked delivery claimed later than this after its slot reserves a fresh one (no bursts). */
const LATE_MS = 50;
/**
 * A delivery finding its endpoint full waits in line (holding its worker slot) when a place is
 * expected within this long; else it goes back to the queue. Handed over in memory, a freed place
 * goes to the next delivery at once instead of waiting for a claim round to find one.
 */
export const QUEUE_WAIT_MS = 1_000;
/** A delivery in line gives up (is postponed) after this long: the attempts ahead hang. */
const QUEUE_GIVE_UP_MS = 2 * QUEUE_WAIT_MS;
/** The shortest wait pushed onto the whole backlog of a concurrency-limited endpoint. */
export const BACKLOG_PUSH_MS = 1_000;
/** An attempt's duration guessed before one has ended. */
const INITIAL_TYPICAL_MS = 20;
/** The shortest and longest a delivery held for concurrency waits before it is claimed again. */
const MIN_WAIT_MS = 20;
const MAX_WAIT_MS = 5_000;
/** How many recent attempt durations the pace is the median of. */
const SAMPLES = 8;

export interface Limits {
  /** Deliveries per second; null: none. */
  ratePerSecond: number | null;
  /** Attempts in flight on this node; null: none. */
  maxConcurrency: number | null;
}

export type Acquired =
  /** Go; call `done` with the attempt's duration when it has ended, whatever its outcome. */
  | { ok: true; waitedMs: number; done(ms: number): void }
  /**
   * Postpone the delivery to `until`; with `backlogUntil`, the endpoint's due backlog to then, spread
   * `backlogSpacingMs` apart on average (how long the endpoint needs per delivery at its limit).
   */
  | {
      ok: false;
      until: number;
      backlogUntil?: number;
      backlogSpacingMs?: number;
      reason: 'rate' | 'concurrency';
    };

export interface EndpointLimits {
  acquire(endpoint: string, delivery: string, limits: Limits): Promise<Acquired>;
  /** Stores in use (Redis: closes nothing shared; the caller owns the connection). */
  readonly shared: 'node' | 'redis';
}

export interface EndpointLimitsOptions {
  /** The schedule of one endpoint's rate; default in memory. */
  pacingStore?: (endpoint: string) => PacingStore;
  shared?: 'node' | 'redis';
  now?: () => number;
  /** For tests: the in-place wait. */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: how long a delivery waits in line before it is postponed (QUEUE_GIVE_UP_MS). */
  queueGiveUpMs?: number;
  /** For tests: [0, 1), spreads held deliveries' returns. */
  random?: () => number;
}

interface EndpointState {
  inFlight: number;
  /** Deliveries waiting in line for a place, oldest first: called with true when handed one. */
  waiters: ((handed: boolean) => void)[];
  /** The last SAMPLES attempt durations, ms (oldest first). */
  recent: number[];
  /** When each attempt in flight started (epoch ms). */
  started: number[];
  lastPush: number;
  pacing: PacingStore | undefined;
}

/**
 * @example
 * const limits = createEndpointLimits();
 * const a = await limits.acquire(ep.id, delivery.id, { ratePerSecond: 10, maxConcurrency: 2 });
 * if (!a.ok) return { wait: a.until, backlogUntil: a.backlogUntil };
 * try { await send(); } finally { a.done(elapsed); }
 */
export function createEndpointLimits(options: EndpointLimitsOptions = {}): EndpointLimits {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const clock = { ...systemClock, now: () => now() };
  const giveUpMs = options.queueGiveUpMs ?? QUEUE_GIVE_UP_MS;
  const random = options.random ?? Math.random;
  const storeOf = options.pacingStore ?? (() => createMemoryPacingStore(clock));
  const endpoints = new LRUCache<string, EndpointState>({
    max: 100_000,
    // An endpoint with attempts in flight must keep its count.
    noDisposeOnSet: true,
  });
  /** Slots this node reserved for deliveries it postponed: delivery id → slot time. */
  const booked = new LRUCache<string, number>({ max: 200_000, ttl: HORIZON_MS * 4 });

  function stateOf(endpoint: string): EndpointState {
    let s = endpoints.get(endpoint);
    if (s === undefined) {
      s = {
        inFlight: 0,
        waiters: [],
        recent: [],
        started: [],
        lastPush: 0,
        pacing: undefined,
      };
      endpoints.set(endpoint, s);
    }
    return s;
  }

  /**
   * Waits in line for a place of a full endpoint when one is expected soon (at most `max` waiting,
   * their expected wait ≤ QUEUE_WAIT_MS): true once an ending attempt hands it its place, false to
   * be postponed instead — at once, or after QUEUE_GIVE_UP_MS if the attempts ahead hang.
   */
  function queued(s: EndpointState, max: number): Promise<boolean> {
    const ahead = s.waiters.length;
    if (ahead >= max || (expectedMs(s) * (ahead + 1)) / max > QUEUE_WAIT_MS) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        s.waiters = s.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, giveUpMs);
      const waiter = (handed: boolean) => {
        clearTimeout(timer);
        resolve(handed);
      };
      s.waiters.push(waiter);
    });
  }

  /**
   * How long an attempt of the endpoint takes: the median of the last SAMPLES (one that hung for
   * the whole timeout does not set the pace for the next ones, as it would in an average), the
   * initial guess before any, and never less than the oldest attempt in flight has run already (a
   * hanging endpoint is not assumed to free a place soon).
   */
  function expectedMs(s: EndpointState): number {
    const median = medianMs(s, INITIAL_TYPICAL_MS);
    const oldest = s.started.length === 0 ? now() : Math.min(...s.started);
    return Math.max(1, median, now() - oldest);
  }

  /** The median of the last finished attempts' durations; `none` before any has finished. */
  function medianMs(s: EndpointState, none: number): number {
    const sorted = [...s.recent].sort((a, b) => a - b);
    return sorted.length === 0 ? none : (sorted[sorted.length >> 1] as number);
  }

  /** An attempt's place: to the first in line, else free. */
  function release(s: EndpointState): void {
    const next = s.waiters.shift();
    if (next !== undefined) next(true);
    else s.inFlight--;
  }

  /** The rate slot: undefined to go now, else when to come back. */
  async function rate(
    s: EndpointState,
    endpoint: string,
    delivery: string,
    perSecond: number,
  ): Promise<{ until: number; backlogUntil?: number; backlogSpacingMs?: number } | number> {
    const t = now();
    const slot = booked.get(delivery);
    if (slot !== undefined) {
      if (t < slot - SLEEP_IN_PLACE_MS) return { until: slot };
      booked.delete(delivery);
      if (t - slot <= LATE_MS) return Math.max(0, slot - t);
      // Claimed long after its slot: sending now could bunch it with the slots after it.
    }
    s.pacing ??= storeOf(endpoint);
    const intervalMs = 1000 / perSecond;
    const horizon = Math.max(HORIZON_MS, 2 * intervalMs);
    const r: Reservation = await s.pacing.reserve({ intervalMs, toleranceMs: 0, maxWaitMs: horizon });
    if (!r.ok) {
      const until = now() + r.waitMs;
      return { until, backlogUntil: until, backlogSpacingMs: intervalMs };
    }
    if (r.waitMs <= SLEEP_IN_PLACE_MS) return r.waitMs;
    const at = now() + r.waitMs;
    booked.set(delivery, at);
    return { until: at };
  }

  return {
    shared: options.shared ?? 'node',
    async acquire(endpoint, delivery, limits) {
      const s = stateOf(endpoint);
      const max = limits.maxConcurrency;
      let handed = false;
      if (max !== null && s.inFlight >= max) handed = await queued(s, max);
      if (max !== null && s.inFlight >= max && !handed) {
        const t = now();
        // One place frees every expectedMs / max: come back then, each held delivery at a random
        // point of one more such wait, so a claim round's held deliveries do not return together.
        const wait = Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, expectedMs(s) / max));
        const until = Math.ceil(t + wait * (1 + random()));
        if (t - s.lastPush < BACKLOG_PUSH_MS) return { ok: false, until, reason: 'concurrency' };
        s.lastPush = t;
        // The due backlog is pushed whole. Not spread at an estimated pace: an estimate that is off
        // (the first attempt hung; the store, not the endpoint, is the bottleneck) would idle the
        // endpoint or bring rows back faster than it takes them — measured, both were worse.
        return {
          ok: false,
          until,
          backlogUntil: Math.max(until, t + BACKLOG_PUSH_MS),
          reason: 'concurrency',
        };
      }
      // Taken before the rate's await, so two deliveries cannot both see the last free place; a
      // queued delivery was handed the place of the attempt that ended (still counted).
      if (!handed) s.inFlight++;
      let waitedMs = 0;
      if (limits.ratePerSecond !== null) {
        let r: Awaited<ReturnType<typeof rate>>;
        try {
          r = await rate(s, endpoint, delivery, limits.ratePerSecond);
        } catch (err) {
          release(s);
          throw err;
        }
        if (typeof r !== 'number') {
          release(s);
          return { ok: false, ...r, reason: 'rate' };
        }
        if (r > 0) await sleep(r);
        waitedMs = r;
      }
      let released = false;
      const startedAt = now();
      s.started.push(startedAt);
      return {
        ok: true,
        waitedMs,
        done(ms) {
          if (released) return;
          released = true;
          const i = s.started.indexOf(startedAt);
          if (i >= 0) s.started.splice(i, 1);
          s.recent.push(Math.max(1, ms));
          if (s.recent.length > SAMPLES) s.recent.shift();
          release(s);
          // Kept in the cache (recency) while attempts run, so its count is not lost to eviction.
          endpoints.set(endpoint, s);
        },
      };
    },
  };
}

/** Redis key prefix of the endpoints' rate schedules. */
export const RATE_KEY_PREFIX = 'junction:webhooks:rate:';

/**
 * The endpoints' rate schedules in Redis, shared by every node (one connection for all of them).
 * If Redis fails, a node paces on its own (src/cluster/pacing-redis.ts) until it is back.
 * @example
 * const shared = redisEndpointPacing(services.redisUrl, logger);
 * const resolver = createEndpointResolver({ …, limits: createEndpointLimits(shared) });
 * // at shutdown, after the resolver: shared.close();
 */
export function redisEndpointPacing(url: string, logger: Logger) {
  const throttled = throttledWarn(logger);
  const warn = (err: unknown) =>
    throttled(err, 'webhooks: redis unavailable, endpoint rate limits paced on this node alone');
  const client = connectPacingRedis(url, 500, warn);
  return {
    shared: 'redis' as const,
    pacingStore: (endpoint: string) =>
      createRedisPacingStore({ client, key: RATE_KEY_PREFIX + endpoint, clock: systemClock, onError: warn }),
    close: () => client.disconnect(),
  };
}
