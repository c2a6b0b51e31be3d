import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  backoffDelays,
  decorrelatedJitterDelay,
  exponentialDelay,
  fullJitterDelay,
  resolveBackoff,
} from './backoff.ts';
import { seededRandom, sequence } from './testing.ts';

const take = (n: number, it: Iterator<number>) => Array.from({ length: n }, () => it.next().value as number);

test('no jitter doubles from baseMs and stops at capMs', () => {
  const delays = take(8, backoffDelays({ strategy: 'none', baseMs: 100, capMs: 5_000 }, Math.random));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
});

test('full jitter stays in [0, min(cap, base·2^(n−1))) for every retry', () => {
  const random = seededRandom(1);
  for (let retry = 1; retry <= 30; retry++) {
    const ceiling = Math.min(2_000, 50 * 2 ** (retry - 1));
    for (let i = 0; i < 200; i++) {
      const d = fullJitterDelay(retry, 50, 2_000, random);
      assert.ok(d >= 0 && d < ceiling, `retry ${retry}: ${d} outside [0, ${ceiling})`);
    }
  }
  assert.equal(
    fullJitterDelay(3, 50, 2_000, () => 0),
    0,
  );
  assert.ok(fullJitterDelay(3, 50, 2_000, () => 0.999_999) > 199.99);
});

test('full jitter is uniform over its range: mean near half the ceiling, quarters near equal', () => {
  const random = seededRandom(42);
  const ceiling = 800;
  const n = 20_000;
  const quarters = [0, 0, 0, 0];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = fullJitterDelay(4, 100, 10_000, random);
    total += d;
    quarters[Math.floor(d / (ceiling / 4))]!++;
  }
  assert.ok(Math.abs(total / n - ceiling / 2) < ceiling * 0.02, `mean ${total / n}`);
  for (const q of quarters) assert.ok(Math.abs(q / n - 0.25) < 0.02, `quarters ${quarters}`);
});

test('decorrelated jitter stays in [base, min(cap, 3·previous)] and never above the cap', () => {
  const random = seededRandom(9);
  for (let run = 0; run < 200; run++) {
    let previous = 100;
    for (let retry = 0; retry < 20; retry++) {
      const d = decorrelatedJitterDelay(previous, 100, 3_000, random);
      assert.ok(d >= 100 && d <= Math.min(3_000, previous * 3), `${d} after ${previous}`);
      previous = d;
    }
  }
  assert.equal(
    decorrelatedJitterDelay(100, 100, 3_000, () => 0),
    100,
  );
  assert.equal(
    decorrelatedJitterDelay(100, 100, 3_000, () => 1),
    300,
  );
  assert.equal(
    decorrelatedJitterDelay(2_000, 100, 3_000, () => 1),
    3_000,
  );
});

test('decorrelated jitter grows on average from retry to retry and then levels off below the cap', () => {
  const random = seededRandom(3);
  const runs = 5_000;
  const sums = new Array<number>(20).fill(0);
  for (let run = 0; run < runs; run++) {
    take(20, backoffDelays({ strategy: 'decorrelated', baseMs: 10, capMs: 1_000 }, random)).forEach(
      (d, i) => {
        sums[i]! += d;
      },
    );
  }
  const means = sums.map((s) => s / runs);
  // E[d1] = base + (3·base − base)/2 = 2·base.
  assert.ok(Math.abs(means[0]! - 20) < 1, `first mean ${means[0]}`);
  for (let i = 1; i < 10; i++) assert.ok(means[i]! > means[i - 1]! * 1.05, `means ${means}`);
  // Capped draws pull the mean down to about half the cap: the delays stay spread, not pinned at the cap.
  for (const late of means.slice(15)) assert.ok(late > 400 && late < 650, `late means ${means.slice(15)}`);
});

test('each strategy draws from the given random source', () => {
  const delays = take(
    3,
    backoffDelays({ strategy: 'full', baseMs: 100, capMs: 10_000 }, sequence(0.5, 0.25, 1)),
  );
  assert.deepEqual(delays, [50, 50, 400]);
});

test('a huge retry number gives the cap, not Infinity or NaN; base 0 gives 0', () => {
  assert.equal(exponentialDelay(5_000, 100, 30_000), 30_000);
  assert.equal(
    fullJitterDelay(5_000, 100, 30_000, () => 0.5),
    15_000,
  );
  assert.equal(exponentialDelay(5_000, 0, 30_000), 0);
  assert.deepEqual(take(3, backoffDelays({ strategy: 'decorrelated', baseMs: 0 }, Math.random)), [0, 0, 0]);
});

test('defaults are full jitter from 100 ms capped at 10 s; bad numbers are refused', () => {
  assert.deepEqual(resolveBackoff(), { strategy: 'full', baseMs: 100, capMs: 10_000 });
  assert.deepEqual(resolveBackoff({ baseMs: undefined }), { strategy: 'full', baseMs: 100, capMs: 10_000 });
  assert.throws(() => resolveBackoff({ baseMs: -1 }), RangeError);
  assert.throws(() => resolveBackoff({ capMs: Number.POSITIVE_INFINITY }), RangeError);
  assert.throws(() => resolveBackoff({ strategy: 'equal' as 'full' }), RangeError);
});
