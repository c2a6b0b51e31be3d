/**
 * Test doubles for the balancing tests: a manual clock and seeded randomness. (src/resilience has
 * its own FakeClock; this one is kept to the three calls the health checks make.)
 */
import type { Clock } from '../../resilience/types.ts';
import type { BalanceRequest } from './types.ts';

export class ManualClock implements Clock {
  #now: number;
  #id = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    this.#timers.set(++this.#id, { at: this.#now + ms, fn });
    return this.#id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, running due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await settle();
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers)
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
      await settle();
    }
    this.#now = until;
  }
}

/** Lets pending promise continuations run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Mulberry32, seeded: repeatable "random" choices. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Plain targets for the strategies: `t0`, `t1`, … */
export function fakeTargets(n: number): { id: string; origin: string; inflight: number }[] {
  return Array.from({ length: n }, (_, i) => ({ id: `t${i}`, origin: `http://10.0.0.${i}:80`, inflight: 0 }));
}

/** A request with the given headers (and JWT claims, in the slot the JWT policy will fill). */
export function req(
  headers: Record<string, string> = {},
  clientIp = '192.0.2.1',
  claims?: Record<string, unknown>,
): BalanceRequest {
  const slots = (claims === undefined ? {} : { claims }) as BalanceRequest['slots'];
  return { headers, clientIp, slots };
}
