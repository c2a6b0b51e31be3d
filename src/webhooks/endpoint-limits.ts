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
 *   apart (`backlogSpacingMs`), so 10,000 queued deliveries to a 10/s endpoint cost one statement per
 *   horizon instead of a claim-and-postpone loop. A delivery booked by one node and claimed by another books again there: the slot is
 *   wasted, so the rate can only fall below the limit, never exceed it.
 * - **Concurrency** (`max_concurrency`): attempts in flight per endpoint, **per node** (with N
 *   nodes an endpoint may see N × max_concurrency). A delivery over it goes back to the queue due
 *   after the endpoint's typical attempt duration (an EWMA), and the due backlog is pushed to at
 *   least BACKLOG_PUSH_MS later, at most once per BACKLOG_PUSH_MS per endpoint, spread over the
 *   time it needs (one delivery per typical duration ÷ max), so it comes due as places free up
 *   instead of at one instant, to be claimed, held and pushed whole again.
 *
 * Waiting deliveries hold no worker slot: the worker postpones them and claims other work.
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
/** The shortest wait pushed onto the whole backlog of a concurrency-limited endpoint. */
export const BACKLOG_PUSH_MS = 1_000;
const MIN_SLOT_WAIT_MS = 20;
const MAX_SLOT_WAIT_MS = 5_000;

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
}

interface EndpointState {
  inFlight: number;
  /** EWMA of attempt durations, ms. */
  typicalMs: number;
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
      s = { inFlight: 0, typicalMs: MIN_SLOT_WAIT_MS, lastPush: 0, pacing: undefined };
      endpoints.set(endpoint, s);
    }
    return s;
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
      if (max !== null && s.inFlight >= max) {
        const t = now();
        const wait = Math.ceil(Math.min(MAX_SLOT_WAIT_MS, Math.max(MIN_SLOT_WAIT_MS, s.typicalMs / max)));
        if (t - s.lastPush < BACKLOG_PUSH_MS) return { ok: false, until: t + wait, reason: 'concurrency' };
        s.lastPush = t;
        const backlogUntil = t + Math.max(wait, BACKLOG_PUSH_MS);
        // One place frees every typicalMs / max on average: the backlog comes due at that pace.
        const backlogSpacingMs = Math.max(1, s.typicalMs / max);
        return { ok: false, until: t + wait, backlogUntil, backlogSpacingMs, reason: 'concurrency' };
      }
      // Taken before the rate's await, so two deliveries cannot both see the last free place.
      s.inFlight++;
      let waitedMs = 0;
      if (limits.ratePerSecond !== null) {
        let r: Awaited<ReturnType<typeof rate>>;
        try {
          r = await rate(s, endpoint, delivery, limits.ratePerSecond);
        } catch (err) {
          s.inFlight--;
          throw err;
        }
        if (typeof r !== 'number') {
          s.inFlight--;
          return { ok: false, ...r, reason: 'rate' };
        }
        if (r > 0) await sleep(r);
        waitedMs = r;
      }
      let released = false;
      return {
        ok: true,
        waitedMs,
        done(ms) {
          if (released) return;
          released = true;
          s.inFlight--;
          s.typicalMs = 0.8 * s.typicalMs + 0.2 * Math.max(1, ms);
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
