/**
 * Two counters summed over a sliding window of fixed slots — the bucketed window of opossum's
 * `rollingCountBuckets`, Hystrix's rolling counters and Finagle's `WindowedAdder`. Recording costs
 * two array writes and no allocation; the window slides by zeroing slots as time passes, so a count
 * lives between `(slots − 1) × slotMs` and `slots × slotMs`.
 */
export class RollingWindow {
  readonly #slotMs: number;
  readonly #a: Float64Array;
  readonly #b: Float64Array;
  #head: number;

  constructor(slots: number, slotMs: number, now: number) {
    this.#slotMs = slotMs;
    this.#a = new Float64Array(slots);
    this.#b = new Float64Array(slots);
    this.#head = Math.floor(now / slotMs);
  }

  /** Adds to the slot of `now`. A clock that went backwards writes into the newest slot. */
  add(now: number, a: number, b: number): void {
    const i = this.#roll(now);
    this.#a[i]! += a;
    this.#b[i]! += b;
  }

  sumA(now: number): number {
    this.#roll(now);
    return sum(this.#a);
  }

  sumB(now: number): number {
    this.#roll(now);
    return sum(this.#b);
  }

  reset(now: number): void {
    this.#a.fill(0);
    this.#b.fill(0);
    this.#head = Math.floor(now / this.#slotMs);
  }

  #roll(now: number): number {
    const n = this.#a.length;
    const index = Math.floor(now / this.#slotMs);
    if (index > this.#head) {
      const stale = Math.min(index - this.#head, n);
      for (let k = 1; k <= stale; k++) {
        const slot = mod(this.#head + k, n);
        this.#a[slot] = 0;
        this.#b[slot] = 0;
      }
      this.#head = index;
    }
    return mod(this.#head, n);
  }
}

function mod(x: number, n: number): number {
  return ((x % n) + n) % n;
}

function sum(values: Float64Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
