/**
 * Where a pacer keeps its schedule: one GCRA timestamp per partner (the theoretical arrival time,
 * `tat`), a pause and a congestion epoch. The in-memory store here paces one process; the Redis
 * store (src/cluster/pacing-redis.ts) runs the same arithmetic as one Lua call per operation, so
 * several nodes share one schedule. Every time in and out is relative (ms from now): the Redis store
 * reads Redis's clock, and nodes' clocks need not agree.
 *
 * GCRA (ITU-T I.371 "Generic Cell Rate Algorithm", the virtual scheduling form; brandur/redis-cell):
 * with emission interval T and tolerance τ, a call may go at `max(now, tat − τ)`, and then
 * `tat = max(now, tat) + T`. A pacer does not refuse a call that is early: it reserves that slot and
 * waits for it, so `tat` runs ahead of the clock by the queue's length.
 */
import type { Clock } from './types.ts';

export interface ReserveRequest {
  /** T: the current spacing between calls. */
  intervalMs: number;
  /** τ = (burst − 1)·T: how far ahead of the schedule a call may go. */
  toleranceMs: number;
  /** A slot further away than this is not reserved. */
  maxWaitMs: number;
}

export type Reservation =
  | {
      ok: true;
      /** How long until the slot. */
      waitMs: number;
      /** Names the slot for `release`: the `tat` this reservation left behind. */
      token: number | string;
      /** The store's congestion epoch when the slot was taken. */
      epoch: number;
    }
  | { ok: false; waitMs: number; epoch: number };

export interface ThrottleRequest {
  /** The epoch of the call the partner throttled: only the first throttle of an epoch decreases. */
  epoch: number;
  /** Nothing goes before now + pauseMs, every node included. */
  pauseMs: number;
  /** Whether this is a congestion signal (429) rather than a known reset (remaining 0). */
  decrease: boolean;
}

export interface ThrottleResult {
  epoch: number;
  /** The pause now in force, which another throttle may have made longer. */
  pausedMs: number;
}

/** Methods may answer at once (memory) or later (Redis); callers await either. */
export interface PacingStore {
  readonly kind: 'node' | 'redis';
  reserve(request: ReserveRequest): Reservation | Promise<Reservation>;
  /** Gives a slot back if nothing was reserved after it; otherwise the slot stays unused. */
  release(token: number | string, intervalMs: number): void | Promise<void>;
  throttle(request: ThrottleRequest): ThrottleResult | Promise<ThrottleResult>;
  /** The pause in force: a call that waited re-checks it, since another node may have paused since. */
  pausedMs(): number | Promise<number>;
  /** Best local knowledge, for the admin API: how far the schedule runs ahead, and the pause. */
  snapshot(): { backlogMs: number; pausedMs: number };
  close?(): Promise<void>;
}

/** The in-memory store answers at once. */
export interface MemoryPacingStore extends PacingStore {
  readonly kind: 'node';
  reserve(request: ReserveRequest): Reservation;
  release(token: number | string, intervalMs: number): void;
  throttle(request: ThrottleRequest): ThrottleResult;
  pausedMs(): number;
}

/**
 * The schedule of one process, in memory.
 *
 * @example
 * const store = createMemoryPacingStore(clock);
 * const r = store.reserve({ intervalMs: 600, toleranceMs: 0, maxWaitMs: 30_000 }); // { ok: true, waitMs: 0, … }
 */
export function createMemoryPacingStore(clock: Clock): MemoryPacingStore {
  let tat = Number.NEGATIVE_INFINITY;
  let paused = Number.NEGATIVE_INFINITY;
  let epoch = 0;
  return {
    kind: 'node',
    reserve({ intervalMs, toleranceMs, maxWaitMs }) {
      const now = clock.now();
      const slot = Math.max(now, tat - toleranceMs, paused);
      if (slot - now > maxWaitMs) return { ok: false, waitMs: slot - now, epoch };
      tat = Math.max(now, tat, paused) + intervalMs;
      return { ok: true, waitMs: slot - now, token: tat, epoch };
    },
    release(token, intervalMs) {
      if (token === tat) tat -= intervalMs;
    },
    throttle(request) {
      const now = clock.now();
      // One decrease per congestion event, as TCP reduces once per window of losses (RFC 5681 §3.1,
      // RFC 6582): throttles of calls sent before the last decrease are the same event.
      if (request.decrease && request.epoch === epoch) epoch++;
      paused = Math.max(paused, now + request.pauseMs);
      tat = Math.max(tat, paused);
      return { epoch, pausedMs: paused - now };
    },
    pausedMs: () => Math.max(0, paused - clock.now()),
    snapshot() {
      const now = clock.now();
      return { backlogMs: Math.max(0, tat - now), pausedMs: Math.max(0, paused - now) };
    },
  };
}
