import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock, seededRandom, sequence } from './testing.ts';

test('the fake clock fires due timers in time order and only when advanced past them', async () => {
  const clock = new FakeClock(1000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b@30'), 30);
  clock.setTimeout(() => fired.push('a@10'), 10);
  clock.setTimeout(() => fired.push('c@30'), 30);
  const cleared = clock.setTimeout(() => fired.push('cleared'), 5);
  clock.clearTimeout(cleared);
  await clock.advance(9);
  assert.deepEqual(fired, []);
  await clock.advance(21);
  assert.deepEqual(fired, ['a@10', 'b@30', 'c@30']);
  assert.equal(clock.now(), 1030);
  assert.equal(clock.pendingTimers, 0);
});

test('the fake clock runs timers set by a timer when they fall due in the same advance', async () => {
  const clock = new FakeClock();
  const at: number[] = [];
  clock.setTimeout(() => {
    at.push(clock.now());
    clock.setTimeout(() => at.push(clock.now()), 10);
  }, 10);
  await clock.advance(25);
  assert.deepEqual(at, [10, 20]);
});

test('seeded random repeats for a seed and stays in [0, 1); sequence cycles', () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const s = sequence(0.1, 0.9);
  assert.deepEqual([s(), s(), s()], [0.1, 0.9, 0.1]);
});
