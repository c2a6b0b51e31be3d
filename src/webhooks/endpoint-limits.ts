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
 *   nodes an endpoint may see N × max_concurrency). A full endpoint is not polled for: a delivery
 *   over the limit waits in line in memory — at most `max` of them, only while a place is expected
 *   within QUEUE_WAIT_MS — and is handed the place of the attempt that ends (at its HTTP answer,
 *   before the attempt is recorded). Any other is *parked* PARK_MS ahead, with the endpoint's due
 *   backlog (one push per BACKLOG_PUSH_MS), and an ending attempt asks (`done` → n) for the oldest
 *   parked deliveries to be brought forward (store.deliveries.bringForward, the resolver wakes the
 *   worker) while this node parked some lately. The expected time to a place is the median of the
 *   last attempts (one that hung for the whole timeout does not set it, as it would an average), and
 *   at least how long the oldest attempt in flight has run. Measured (`npm run bench -- webhooks`,
 *   `limited`): a max_concurrency 1 endpoint's 2,000-message backlog behind a hanging request drains
 *   at 0.69 (SQLite) and 0.29 (PostgreSQL) of an unlimited endpoint's, from 0.006 and 0.015 when
 *   held deliveries polled the queue (docs/benchmarks.md, with the variants tried).
 *
 * Held deliveries hold no worker slot (the worker postpones them and claims other work), except the
 * few waiting in line, each for less than QUEUE_GIVE_UP_MS.
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
/**
 * How long a delivery held for concurrency is parked: it is brought forward when a place frees, so
 * this is only how late it comes back when nothing frees one (the node that parked it stopped).
 */
export const PARK_MS = 30_000;
/** How many recent attempt durations the pace is the median of. */
const SAMPLES = 8;

export interface Limits {
  /** Deliveries per second; null: none. */
  ratePerSecond: number | null;
  /** Attempts in flight on this node; null: none. */
  maxConcurrency: number | null;
}

export type Acquired =
  /**
   * Go; call `done` with the attempt's duration when it has ended, whatever its outcome. It answers
   * how many parked deliveries of the endpoint to bring forward now (0: none), and `pulled` must be
   * called once they have been.
   */
  | { ok: true; waitedMs: number; done(ms: number): number }
  /**
   * Postpone the delivery to `until`; with `backlogUntil`, the endpoint's due backlog to then, spread
   * `backlogSpacingMs` apart on average (the rate's interval; concurrency pushes it whole).
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
  /** The deliveries a `done` asked for were brought forward (or that failed): the next may ask. */
  pulled(endpoint: string): void;
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
  /** For tests: [0, 1), spreads parked deliveries' returns. */
  random?: () => number;
}

interface EndpointState {
  inFlight: number;
  /** Deliveries waiting in line for a place, oldest first: called with true when handed one. */
  waiters: ((handed: boolean) => void)[];
  /** When a delivery was last parked for concurrency (epoch ms; 0: never). */
  parkedAt: number;
  /** A bring-forward asked for by `done` has not been `pulled` yet. */
  pulling: boolean;
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
        parkedAt: 0,
        pulling: false,
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
    const sorted = [...s.recent].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1] ?? INITIAL_TYPICAL_MS;
    const oldest = s.started.length === 0 ? now() : Math.min(...s.started);
    return Math.max(1, median, now() - oldest);
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
        // Parked, with the endpoint's due backlog (at most one push per BACKLOG_PUSH_MS): brought
        // forward when a place frees (`done`), else back by themselves after PARK_MS (+ up to 10 %,
        // so they do not all return at one instant).
        s.parkedAt = t;
        const until = Math.ceil(t + PARK_MS * (1 + random() / 10));
        if (t - s.lastPush < BACKLOG_PUSH_MS) return { ok: false, until, reason: 'concurrency' };
        s.lastPush = t;
        return { ok: false, until, backlogUntil: until, reason: 'concurrency' };
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
          if (released) return 0;
          released = true;
          const i = s.started.indexOf(startedAt);
          if (i >= 0) s.started.splice(i, 1);
          s.recent.push(Math.max(1, ms));
          if (s.recent.length > SAMPLES) s.recent.shift();
          release(s);
          // Kept in the cache (recency) while attempts run, so its count is not lost to eviction.
          endpoints.set(endpoint, s);
          // A place (or a place in line) is free and deliveries were parked lately: bring enough
          // forward to fill the line, one bring at a time per endpoint.
          if (max === null || s.pulling || now() - s.parkedAt > PARK_MS || s.waiters.length >= max) return 0;
          s.pulling = true;
          return max;
        },
      };
    },
    pulled(endpoint) {
      const s = endpoints.get(endpoint);
      if (s !== undefined) s.pulling = false;
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
