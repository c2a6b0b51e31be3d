import assert from 'node:assert/strict';
import { test } from 'node:test';
import { murmur3 } from '../balancing/index.ts';
import { jumpHash } from './shard.ts';

const keys = Array.from({ length: 20_000 }, (_, i) => murmur3(`account-${i}`));

test('jump hash spreads keys evenly over the shards', () => {
  const counts = new Array(8).fill(0);
  for (const k of keys) counts[jumpHash(k, 8)]++;
  for (const c of counts) assert.ok(Math.abs(c - keys.length / 8) < keys.length / 8 / 5, `bucket size ${c}`);
});

test('appending a shard moves about 1/(n+1) of the keys, and only onto the new shard', () => {
  for (const n of [1, 3, 7, 15]) {
    let moved = 0;
    for (const k of keys) {
      const before = jumpHash(k, n);
      const after = jumpHash(k, n + 1);
      if (before !== after) {
        moved++;
        assert.equal(after, n, 'a key that moves goes to the new shard');
      }
    }
    const expected = keys.length / (n + 1);
    assert.ok(Math.abs(moved - expected) < expected / 5, `n=${n}: moved ${moved}, expected ≈${expected}`);
  }
});

test('hash mod n, by contrast, moves most keys when a shard is added (why consistent-hash exists)', () => {
  let moved = 0;
  for (const k of keys) if (k % 7 !== k % 8) moved++;
  assert.ok(moved > keys.length / 2);
});
