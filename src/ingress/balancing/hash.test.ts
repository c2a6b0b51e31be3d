import assert from 'node:assert/strict';
import { test } from 'node:test';
import { murmur3 } from './hash.ts';

test('murmur3 matches the reference MurmurHash3_x86_32 vectors', () => {
  assert.equal(murmur3('', 0), 0);
  assert.equal(murmur3('', 1), 0x514e28b7);
  assert.equal(murmur3('', 0xffffffff), 0x81f16f39);
  assert.equal(murmur3('test', 0), 0xba6bd213);
  assert.equal(murmur3('Hello, world!', 0), 0xc0363e43);
  assert.equal(murmur3('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
});

test('murmur3 hashes UTF-8 bytes and long keys', () => {
  assert.equal(murmur3('é'), murmur3('\u00e9'));
  assert.notEqual(murmur3('é'), murmur3('e'));
  const long = 'x'.repeat(10_000);
  assert.equal(murmur3(long), murmur3(long));
  assert.ok(murmur3(long) >= 0 && murmur3(long) <= 0xffffffff);
});
