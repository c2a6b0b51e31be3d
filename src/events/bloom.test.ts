import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BloomFilter, bloomSizing } from './bloom.ts';

/** Keys shaped like real ones: a source name and sequential-looking provider ids. */
const key = (i: number, space = 'evt') => `stripe:${space}_${i.toString(36).padStart(14, '0')}`;

test('sizing: m = ⌈−n ln p / (ln 2)²⌉ bits, k = round(m/n · ln 2)', () => {
  assert.deepEqual(bloomSizing(1_000, 0.01), { bits: 9_586, hashes: 7 });
  assert.deepEqual(bloomSizing(1_000_000, 0.01), { bits: 9_585_059, hashes: 7 });
  assert.deepEqual(bloomSizing(1_000_000, 0.001), { bits: 14_377_588, hashes: 10 });
  assert.deepEqual(bloomSizing(100, 0.5), { bits: 145, hashes: 1 });
  for (const [n, p] of [
    [0, 0.01],
    [1.5, 0.01],
    [100, 0],
    [100, 1],
    [100, Number.NaN],
    [1e12, 1e-9],
  ])
    assert.throws(() => bloomSizing(n!, p!), RangeError);
});

test('no false negatives over 100k items', () => {
  const f = new BloomFilter({ expectedItems: 100_000, falsePositiveRate: 0.01 });
  for (let i = 0; i < 100_000; i++) f.add(key(i));
  let missing = 0;
  for (let i = 0; i < 100_000; i++) if (!f.mightContain(key(i))) missing++;
  assert.equal(missing, 0);
});

for (const p of [0.01, 0.001]) {
  test(`filled with n items, the measured false-positive rate is within 1.5x of the ${p} target`, () => {
    const n = 100_000;
    const f = new BloomFilter({ expectedItems: n, falsePositiveRate: p });
    for (let i = 0; i < n; i++) f.add(key(i));
    const trials = 400_000;
    let fp = 0;
    for (let i = 0; i < trials; i++) if (f.mightContain(key(i, 'never'))) fp++;
    const measured = fp / trials;
    assert.ok(measured <= p * 1.5 && measured >= p / 1.5, `measured ${measured}, target ${p}`);
    // The estimate from the fill ratio agrees with both.
    const { estimatedFalsePositiveRate, estimatedItems } = f.stats();
    assert.ok(Math.abs(estimatedFalsePositiveRate / p - 1) < 0.1, `estimated ${estimatedFalsePositiveRate}`);
    assert.ok(Math.abs(estimatedItems / n - 1) < 0.02, `estimated items ${estimatedItems}`);
  });
}

test('the estimated rate climbs as the filter is overfilled past n', () => {
  const f = new BloomFilter({ expectedItems: 1_000, falsePositiveRate: 0.01 });
  for (let i = 0; i < 1_000; i++) f.add(key(i));
  const atN = f.stats().estimatedFalsePositiveRate;
  for (let i = 1_000; i < 3_000; i++) f.add(key(i));
  const at3N = f.stats().estimatedFalsePositiveRate;
  assert.ok(atN < 0.012 && at3N > 0.2, `${atN} then ${at3N}`);
});

test('counters: lookups, "definitely new" answers (store lookups saved) and reported false positives', () => {
  const f = new BloomFilter({ expectedItems: 1_000, falsePositiveRate: 0.01 });
  assert.deepEqual(
    { ...f.stats(), fillRatio: 0 },
    {
      bits: 9_586,
      hashes: 7,
      fillRatio: 0,
      estimatedFalsePositiveRate: 0,
      estimatedItems: 0,
      lookups: 0,
      definitelyNew: 0,
      falsePositives: 0,
      observedFalsePositiveRate: 0,
    },
  );
  assert.equal(f.mightContain('a'), false);
  assert.equal(f.add('a'), true);
  assert.equal(f.add('a'), false, 'a second add changes no bit');
  assert.equal(f.mightContain('a'), true);
  assert.equal(f.mightContain('b'), false);
  f.reportFalsePositive();
  const s = f.stats();
  assert.equal(s.lookups, 3);
  assert.equal(s.definitelyNew, 2);
  assert.equal(s.falsePositives, 1);
  assert.equal(s.observedFalsePositiveRate, 1 / 3);
  assert.equal(s.fillRatio, 7 / 9_586);
  f.clear();
  assert.equal(f.mightContain('a'), false);
  assert.equal(f.stats().lookups, 1);
});

test('keys differing only in case, length or a non-ASCII character are told apart', () => {
  const f = new BloomFilter({ expectedItems: 100, falsePositiveRate: 0.0001 });
  f.add('evt_A');
  for (const other of ['evt_a', 'evt_', 'evt_A ', 'evt_Ä', 'evt_A\u0000', ''])
    assert.equal(f.mightContain(other), false, JSON.stringify(other));
  f.add('😀');
  assert.equal(f.mightContain('😀'), true);
});
