import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALGORITHMS,
  type Algorithm,
  type Decision,
  gcra,
  type LimitSpec,
  slidingLog,
  slidingWindow,
} from './index.ts';

/** mulberry32: a seeded generator, so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function decide<S>(alg: Algorithm<S>, state: S, now: number, spec: LimitSpec): Decision {
  const d = alg.check(state, now, spec);
  if (d.allowed) alg.commit(state, now, spec);
  return d;
}

/** Admission times of a random stream (bursts and gaps), `n` requests from `start`. */
function drive<S>(alg: Algorithm<S>, spec: LimitSpec, seed: number, n = 3000, start = 1_000_000) {
  const random = seeded(seed);
  const state = alg.init(spec);
  const admitted: number[] = [];
  let now = start;
  for (let i = 0; i < n; i++) {
    now += random() < 0.3 ? 0 : Math.floor(random() * (spec.windowMs / spec.limit) * 2);
    if (decide(alg, state, now, spec).allowed) admitted.push(now);
  }
  return { admitted, state, now };
}

/** Most admissions in any half-open window [t, t + length). */
function maxInWindow(times: number[], length: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= length) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

const SPECS: LimitSpec[] = [
  { limit: 10, windowMs: 1000, burst: 10 },
  { limit: 3, windowMs: 250, burst: 1 },
  { limit: 20, windowMs: 1000, burst: 5 },
  { limit: 1, windowMs: 100, burst: 1 },
];

for (const alg of Object.values(ALGORITHMS)) {
  test(`${alg.name}: Retry-After is exact — refused 1 ms before it, allowed at it`, () => {
    for (const spec of SPECS) {
      for (let seed = 1; seed <= 20; seed++) {
        const { state, now } = drive(alg, spec, seed, 200);
        const d = alg.check(state, now, spec);
        if (d.allowed) continue;
        const at = now + Math.ceil(d.retryAfterMs);
        assert.equal(
          alg.check(structuredClone(state), at, spec).allowed,
          true,
          `${seed} at +${d.retryAfterMs}`,
        );
        if (d.retryAfterMs > 1) assert.equal(alg.check(structuredClone(state), at - 1, spec).allowed, false);
      }
    }
  });

  test(`${alg.name}: remaining counts exactly the requests that would still pass now`, () => {
    for (const spec of SPECS) {
      for (let seed = 1; seed <= 20; seed++) {
        const { state, now } = drive(alg, spec, seed, 100);
        const d = decide(alg, state, now, spec);
        if (!d.allowed) continue;
        let more = 0;
        while (decide(alg, state, now, spec).allowed) more++;
        assert.equal(more, d.remaining, `seed ${seed}`);
      }
    }
  });

  test(`${alg.name}: after resetMs the whole quota is back`, () => {
    for (const spec of SPECS) {
      for (let seed = 1; seed <= 20; seed++) {
        const { state, now } = drive(alg, spec, seed, 100);
        const d = alg.check(state, now, spec);
        const full = alg.check(alg.init(spec), 0, spec).remaining;
        assert.equal(alg.check(state, now + Math.ceil(d.resetMs), spec).remaining, full, `seed ${seed}`);
      }
    }
  });

  test(`${alg.name}: a refused request is not counted (tyk#1876: the limiter recovers)`, () => {
    const spec = { limit: 2, windowMs: 1000, burst: 2 };
    const state = alg.init(spec);
    assert.equal(decide(alg, state, 0, spec).allowed, true);
    assert.equal(decide(alg, state, 0, spec).allowed, true);
    for (let t = 1; t < 1000; t += 7) decide(alg, state, t, spec);
    assert.equal(decide(alg, state, 2000, spec).allowed, true);
  });
}

test('sliding-log: never more than limit in any window, and admits whenever a slot is free', () => {
  for (const spec of SPECS) {
    for (let seed = 1; seed <= 10; seed++) {
      const { admitted } = drive(slidingLog, spec, seed);
      assert.ok(maxInWindow(admitted, spec.windowMs) <= spec.limit, `seed ${seed}`);
    }
  }
  // The log grows past its first ring size and keeps order.
  const spec = { limit: 100, windowMs: 1000, burst: 100 };
  const state = slidingLog.init(spec);
  for (let t = 0; t < 100; t++) assert.equal(decide(slidingLog, state, t, spec).allowed, true);
  assert.equal(decide(slidingLog, state, 999, spec).allowed, false);
  assert.deepEqual(decide(slidingLog, state, 1000, spec), {
    allowed: true,
    limit: 100,
    remaining: 0,
    resetMs: 1000,
    retryAfterMs: 0,
  });
});

test('gcra: at most burst + ⌊L / T⌋ in any interval L, and the same answers as a token bucket', () => {
  for (const spec of SPECS) {
    const t = spec.windowMs / spec.limit;
    for (let seed = 1; seed <= 10; seed++) {
      const { admitted } = drive(gcra, spec, seed);
      for (const length of [0, t, spec.windowMs, 3 * spec.windowMs]) {
        const bound = spec.burst + Math.floor(length / t);
        assert.ok(maxInWindow(admitted, length + 1) <= bound, `seed ${seed} L ${length}`);
      }
      // A token bucket of `burst` refilled continuously at limit / windowMs admits the same stream.
      const random = seeded(seed);
      const state = gcra.init(spec);
      let tokens = spec.burst;
      let last = 0;
      let now = 0;
      for (let i = 0; i < 2000; i++) {
        now += random() < 0.3 ? 0 : Math.floor(random() * t * 2);
        tokens = Math.min(spec.burst, tokens + (now - last) / t);
        last = now;
        const bucket = tokens >= 1 - 1e-9;
        if (bucket) tokens -= 1;
        assert.equal(decide(gcra, state, now, spec).allowed, bucket, `seed ${seed} request ${i}`);
      }
    }
  }
});

test('sliding-window: no aligned window above limit, no sliding window at 2 × limit', () => {
  for (const spec of SPECS) {
    for (let seed = 1; seed <= 10; seed++) {
      const { admitted } = drive(slidingWindow, spec, seed);
      const perWindow = new Map<number, number>();
      for (const a of admitted) {
        const w = Math.floor(a / spec.windowMs);
        perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
      }
      assert.ok(Math.max(...perWindow.values()) <= spec.limit);
      assert.ok(maxInWindow(admitted, spec.windowMs) < 2 * spec.limit);
    }
  }
});

test('sliding-window: weighs the previous window by the share of it still inside the window', () => {
  const spec = { limit: 10, windowMs: 1000, burst: 10 };
  const state = slidingWindow.init(spec);
  for (let i = 0; i < 10; i++) decide(slidingWindow, state, 500, spec);
  // At 1250 a quarter of the next window has passed: 10 · 0.75 = 7.5 counted, room for 2.
  assert.deepEqual(slidingWindow.check(state, 1250, spec), {
    allowed: true,
    limit: 10,
    remaining: 1,
    resetMs: 1750,
    retryAfterMs: 0,
  });
  decide(slidingWindow, state, 1250, spec);
  decide(slidingWindow, state, 1250, spec);
  const refused = slidingWindow.check(state, 1250, spec);
  assert.equal(refused.allowed, false);
  // 10 · (1 − f) + 2 ≤ 9 once f ≥ 0.3: at 1300.
  assert.equal(refused.retryAfterMs, 50);
});

test('sliding-window: the worst case is a burst at the end of one window and the start of the next', () => {
  const spec = { limit: 10, windowMs: 1000, burst: 10 };
  const state = slidingWindow.init(spec);
  let admitted = 0;
  for (let i = 0; i < 20; i++) if (decide(slidingWindow, state, 999, spec).allowed) admitted++;
  // At 1100 the previous ten weigh 9: one more. At 1900 they weigh 1, with the one 2: eight more.
  for (let i = 0; i < 20; i++) if (decide(slidingWindow, state, 1100, spec).allowed) admitted++;
  for (let i = 0; i < 20; i++) if (decide(slidingWindow, state, 1900, spec).allowed) admitted++;
  assert.equal(admitted, 19); // all within [999, 1999): 2 × limit − 1, the bound it approaches
});
