import { JunctionError } from '../core/errors.ts';
import { orNever, attempt as tryOnce, unwrap } from './async.ts';
import { deadlineOf } from './deadline.ts';
import { PacingQueueFull, PacingWaitExceeded } from './errors.ts';
import { createSlotQueue } from './pacer-queue.ts';
import { createPacerRate, type RateSnapshot } from './pacer-rate.ts';
import { createMemoryPacingStore, type PacingStore } from './pacing-store.ts';
import type { PacingFeedback } from './rate-limit-headers.ts';
import { type Clock, type Outcome, type Policy, systemClock } from './types.ts';
import { checkCount, checkDelay } from './validate.ts';

export type PacingRefusal = 'queue_full' | 'wait_exceeded';

export interface PacerOptions<T> {
  /** The partner's limit: `requests` calls per `perMs` (set it a little under, see docs). */
  requests: number;
  perMs: number;
  /** Calls that may go at once after a quiet spell; 1 spaces every call evenly. Default 1. */
  burst?: number;
  /** Calls allowed to wait for their slot; more are refused with `pacing_queue_full`. Default 1000. */
  maxQueue?: number;
  /** A call whose slot is further away is refused with `pacing_wait_exceeded`. Default 30 000. */
  maxWaitMs?: number;
  /** Slow down on 429 / Retry-After / rate-limit headers (docs/resilience.md "Pacing"). Default true. */
  adaptive?: boolean;
  /** Reads what a response says about the partner's limit, e.g. `pacingFeedback(status, headers, now)`. */
  feedback?: (outcome: Outcome<T>, now: number) => PacingFeedback | undefined;
  /** The schedule; default one in memory, for this process only. */
  store?: PacingStore;
  /** Named in the error's detail, e.g. the upstream's name. */
  name?: string;
  clock?: Clock;
  /** How long an admitted call waited for its slot (0 when it went at once). */
  onWait?: (ms: number) => void;
  onReject?: (reason: PacingRefusal) => void;
  /** This process started a pause: `throttled` (429, 503 + Retry-After) or `exhausted` (remaining 0). */
  onPause?: (reason: 'throttled' | 'exhausted', ms: number) => void;
}

export interface PacerSnapshot extends RateSnapshot {
  shared: 'node' | 'redis';
  requests: number;
  perMs: number;
  burst: number;
  adaptive: boolean;
  queued: number;
  maxQueue: number;
  maxWaitMs: number;
  /** How far ahead the schedule is reserved (what a new call would wait, roughly). */
  backlogMs: number;
  pausedMs: number;
  totals: { admitted: number; waited: number; queueFull: number; waitExceeded: number; pauses: number };
}

export interface Pacer<T> extends Policy<T> {
  snapshot(): PacerSnapshot;
}

const ignore = () => {};

/**
 * Keeps calls to a rate-limited partner under its limit by making them wait rather than fail: a
 * leaky bucket as a meter, in GCRA form (pacing-store.ts). Each call reserves the next slot and waits
 * for it in a FIFO queue; one that would wait longer than `maxWaitMs`, or find `maxQueue` calls
 * waiting, is refused at once (503). A waiting call whose signal aborts leaves the queue, and the
 * calls behind it move up a slot. With `adaptive`, a 429 pauses every call until `Retry-After` and
 * halves the rate, which then climbs back on successes (pacer-rate.ts has the control law).
 *
 * @example
 * const pacer = createPacer<Exchange>({ requests: 100, perMs: 60_000, maxWaitMs: 30_000,
 *   feedback: (o, now) => (o.ok ? pacingFeedback(o.value.status, o.value.headers, now) : undefined) });
 * const res = await pacer.execute(({ signal }) => send(signal), req.signal);
 */
export function createPacer<T>(options: PacerOptions<T>): Pacer<T> {
  const requests = checkCount('pacing requests', options.requests, 1);
  const perMs = checkDelay('pacing perMs', options.perMs, { allowZero: false });
  const burst = checkCount('pacing burst', options.burst ?? 1, 1);
  const maxQueue = checkCount('pacing maxQueue', options.maxQueue ?? 1000, 0);
  const maxWaitMs = checkDelay('pacing maxWaitMs', options.maxWaitMs ?? 30_000);
  const adaptive = options.adaptive ?? true;
  const clock = options.clock ?? systemClock;
  const store = options.store ?? createMemoryPacingStore(clock);
  const rate = createPacerRate({ requests, perMs, adaptive });
  const who = options.name === undefined ? 'upstream' : `upstream ${options.name}`;
  const queue = createSlotQueue(clock, (slot) => void store.release(slot.token, slot.intervalMs));
  const totals = { admitted: 0, waited: 0, queueFull: 0, waitExceeded: 0, pauses: 0 };
  let pausedUntil = Number.NEGATIVE_INFINITY;

  const refuse = (reason: PacingRefusal, waitMs: number, limitedBy = 'maxWaitMs'): JunctionError => {
    options.onReject?.(reason);
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    const full = reason === 'queue_full';
    if (full) totals.queueFull++;
    else totals.waitExceeded++;
    const detail = full
      ? `${queue.length} calls to ${who} are already waiting for a slot (maxQueue ${maxQueue})`
      : limitedBy === 'deadline'
        ? `the next slot for ${who} is ${Math.ceil(waitMs)} ms away, past the request's deadline`
        : `the next slot for ${who} is ${Math.ceil(waitMs)} ms away (maxWaitMs ${maxWaitMs})`;
    return new JunctionError(full ? PacingQueueFull : PacingWaitExceeded, detail, {
      headers: { 'retry-after': String(seconds) },
      extensions: { retryAfterMs: Math.ceil(waitMs), ...(full ? { maxQueue } : { maxWaitMs }) },
    });
  };

  const queueWaitMs = (now: number) => (queue.lastAt() ?? now) - now + rate.intervalAt(now);

  /** Reserves a slot and waits for it; resolves with the congestion epoch the call goes out in. */
  const admit = async (signal: AbortSignal): Promise<number> => {
    const arrived = clock.now();
    // A call with a deadline of its own (the route's) waits no longer than it: a slot after that
    // could only end in a 504 once the deadline passed, so it is refused now instead.
    const callDeadline = deadlineOf(signal);
    const deadline = Math.min(arrived + maxWaitMs, callDeadline ?? Number.POSITIVE_INFINITY);
    const limitedBy =
      callDeadline !== undefined && callDeadline < arrived + maxWaitMs ? 'deadline' : 'maxWaitMs';
    if (queue.length > 0 && queue.length >= maxQueue) throw refuse('queue_full', queueWaitMs(arrived));
    for (;;) {
      const now = clock.now();
      const intervalMs = rate.intervalAt(now);
      const r = await store.reserve({
        intervalMs,
        toleranceMs: (burst - 1) * intervalMs,
        maxWaitMs: maxQueue === 0 ? 0 : Math.max(0, deadline - now),
      });
      rate.sync(r.epoch);
      if (!r.ok) throw refuse(maxQueue === 0 ? 'queue_full' : 'wait_exceeded', r.waitMs, limitedBy);
      if (signal.aborted || (r.waitMs > 0 && queue.length >= maxQueue)) {
        void store.release(r.token, intervalMs);
        if (signal.aborted) throw signal.reason;
        throw refuse('queue_full', queueWaitMs(clock.now()));
      }
      if (r.waitMs > 0) {
        if (!(await queue.wait({ at: clock.now() + r.waitMs, token: r.token, intervalMs }, signal))) continue;
        // A call that waited looks again: another node may have paused the partner meanwhile.
        if ((await store.pausedMs()) > 0) continue;
        signal.throwIfAborted();
      }
      totals.admitted++;
      if (clock.now() > arrived) totals.waited++;
      options.onWait?.(clock.now() - arrived);
      return r.epoch;
    }
  };

  const pause = (reason: 'throttled' | 'exhausted', pauseMs: number, epoch: number) => {
    const now = clock.now();
    if (now >= pausedUntil) {
      totals.pauses++;
      options.onPause?.(reason, pauseMs);
    }
    pausedUntil = Math.max(pausedUntil, now + pauseMs);
    // The store first, so that the waiters' new reservations (same connection) come after the pause.
    const result = store.throttle({ epoch, pauseMs, decrease: reason === 'throttled' });
    if (result instanceof Promise) result.then((r) => rate.sync(r.epoch), ignore);
    else rate.sync(result.epoch);
    queue.voidBefore(pausedUntil);
  };

  const learn = (outcome: Outcome<T>, epoch: number) => {
    if (!adaptive || options.feedback === undefined) return;
    const now = clock.now();
    const fb = options.feedback(outcome, now);
    if (fb === undefined) {
      if (outcome.ok) rate.increase();
      return;
    }
    rate.hint(fb, now);
    if (fb.throttled) {
      // Without a Retry-After (or a reset time), pause for one interval at half the configured rate.
      pause('throttled', fb.pauseMs ?? (2 * perMs) / requests, epoch);
      return;
    }
    rate.increase();
    if (fb.pauseMs !== undefined && fb.pauseMs > 0) pause('exhausted', fb.pauseMs, epoch);
  };

  return {
    async execute(fn, outer, attempt = 1) {
      const signal = orNever(outer);
      signal.throwIfAborted();
      const epoch = await admit(signal);
      const outcome = await tryOnce(fn, { attempt, signal });
      learn(outcome, epoch);
      return unwrap(outcome);
    },

    snapshot() {
      const now = clock.now();
      const s = store.snapshot();
      return {
        shared: store.kind,
        requests,
        perMs,
        burst,
        adaptive,
        ...rate.snapshot(now),
        queued: queue.length,
        maxQueue,
        maxWaitMs,
        backlogMs: Math.round(s.backlogMs),
        pausedMs: Math.round(Math.max(s.pausedMs, pausedUntil - now, 0)),
        totals: { ...totals },
      };
    },
  };
}
