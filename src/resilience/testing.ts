/**
 * Test doubles for the policies: a clock whose time moves only when a test says so, and
 * deterministic randomness. Exported so integration tests elsewhere can drive the same policies.
 */
import type { Clock } from './types.ts';

interface Timer {
  at: number;
  fn: () => void;
}

/** Lets every pending promise continuation run: `setImmediate` fires only after the microtask queue is empty. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A `Clock` that stands still until `advance()` moves it, running each due timer in time order (ties
 * in the order they were set) and letting promises settle between timers.
 *
 * @example
 * const clock = new FakeClock();
 * const pending = createTimeout({ ms: 100, clock }).execute(() => new Promise(() => {}));
 * await clock.advance(100); // pending now rejects with deadline_exceeded
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 0;
  readonly #timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#nextId;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers set and neither fired nor cleared; 0 after a policy settles means it cleaned up. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing the timers that fall due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flush();
    for (let next = this.#due(target); next !== undefined; next = this.#due(target)) {
      const [id, timer] = next;
      this.#timers.delete(id);
      this.#now = Math.max(this.#now, timer.at);
      timer.fn();
      await flush();
    }
    this.#now = Math.max(this.#now, target);
    await flush();
  }

  #due(target: number): [number, Timer] | undefined {
    let found: [number, Timer] | undefined;
    for (const entry of this.#timers) {
      if (entry[1].at <= target && (found === undefined || entry[1].at < found[1].at)) found = entry;
    }
    return found;
  }
}

export interface Tracked<T> {
  settled: boolean;
  value?: T;
  error?: unknown;
}

/** Records how a promise settles, so a test can look while time is frozen without an unhandled rejection. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: Tracked<T> = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** Mulberry32: a tiny seeded generator in [0, 1), good enough for distribution-shape tests. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Returns the given values in turn, starting over after the last. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}
