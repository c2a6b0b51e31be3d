import assert from 'node:assert/strict';
import { test } from 'node:test';
import { idToBigInt, JUNCTION_EPOCH, MAX_NODE_ID, parseId, Snowflake } from './ids.ts';

test('ids carry their time, node and sequence and parse back', () => {
  const at = JUNCTION_EPOCH + 123_456_789;
  const ids = new Snowflake({ nodeId: 513, now: () => at });
  const a = ids.next('req');
  const b = ids.next('req');
  assert.match(a, /^req_[0-9A-HJKMNP-TV-Z]{13}$/);
  assert.deepEqual(parseId(a), { prefix: 'req', timestampMs: at, nodeId: 513, sequence: 0 });
  assert.deepEqual(parseId(b), { prefix: 'req', timestampMs: at, nodeId: 513, sequence: 1 });
});

test('string order equals numeric order and time order', () => {
  let now = JUNCTION_EPOCH + 5;
  const ids = new Snowflake({ nodeId: MAX_NODE_ID, now: () => now });
  const seen: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    if (i % 1000 === 0) now += 7919; // jumps that cross several base32 digit boundaries
    seen.push(ids.next('evt'));
  }
  const sorted = [...seen].sort();
  assert.deepEqual(sorted, seen);
  const asNumbers = seen.map(idToBigInt);
  for (let i = 1; i < asNumbers.length; i++) assert.ok(asNumbers[i]! > asNumbers[i - 1]!);
  assert.equal(new Set(seen).size, seen.length);
});

test('two nodes at the same instant never collide', () => {
  const now = () => JUNCTION_EPOCH + 1;
  const a = new Snowflake({ nodeId: 1, now });
  const b = new Snowflake({ nodeId: 2, now });
  const all = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    all.add(a.next('x'));
    all.add(b.next('x'));
  }
  assert.equal(all.size, 10_000);
});

test('a clock that steps back does not repeat ids or go backwards', () => {
  let now = JUNCTION_EPOCH + 10_000;
  const ids = new Snowflake({ nodeId: 7, now: () => now });
  const before = ids.nextBigInt();
  now -= 5_000; // NTP step backwards by five seconds
  const after: bigint[] = [];
  for (let i = 0; i < 10_000; i++) after.push(ids.nextBigInt());
  assert.ok(after[0]! > before);
  for (let i = 1; i < after.length; i++) assert.ok(after[i]! > after[i - 1]!);
  assert.ok(ids.clockBackwardsEvents > 0);
});

test('more than 4096 ids in one millisecond borrow the next millisecond instead of blocking', () => {
  const at = JUNCTION_EPOCH + 42;
  const ids = new Snowflake({ nodeId: 0, now: () => at });
  const parts = Array.from({ length: 4097 }, () => ids.nextParts());
  assert.equal(parts[4095]!.sequence, 4095);
  assert.deepEqual(parts[4096], { timestampMs: at + 1, nodeId: 0, sequence: 0 });
});

test('refuses node ids outside 10 bits and strings that are not ids', () => {
  assert.throws(() => new Snowflake({ nodeId: 1024 }), RangeError);
  assert.throws(() => new Snowflake({ nodeId: -1 }), RangeError);
  assert.throws(() => parseId('req_short'), TypeError);
  assert.throws(() => parseId('req_ZZZZZZZZZZZZZ'), TypeError); // would need the 64th bit
  assert.throws(() => parseId('req_0000000000I00'), TypeError); // I is not Crockford base32
});
