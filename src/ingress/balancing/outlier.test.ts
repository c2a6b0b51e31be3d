import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fresh, type OutlierConfig, recordOutcome } from './outlier.ts';

const config: OutlierConfig = {
  consecutiveFailures: 5,
  ejectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
};
const room = (ejected = 0, total = 4) => ({ total, ejected: () => ejected });

test('five failures in a row eject the target for ejectionMs', () => {
  const s = fresh();
  for (let i = 0; i < 4; i++) assert.equal(recordOutcome(s, true, 1_000, config, room()), false);
  assert.equal(s.consecutiveFailures, 4);
  assert.equal(recordOutcome(s, true, 1_000, config, room()), true);
  assert.equal(s.ejectedUntil, 31_000);
  assert.equal(s.consecutiveFailures, 0);
});

test('a success resets the count of failures in a row', () => {
  const s = fresh();
  for (let i = 0; i < 4; i++) recordOutcome(s, true, 0, config, room());
  recordOutcome(s, false, 0, config, room());
  for (let i = 0; i < 4; i++) assert.equal(recordOutcome(s, true, 0, config, room()), false);
  assert.equal(s.ejectedUntil, 0);
});

test('outcomes of requests still in flight during an ejection are ignored', () => {
  const s = fresh();
  for (let i = 0; i < 5; i++) recordOutcome(s, true, 0, config, room());
  for (let i = 0; i < 10; i++) assert.equal(recordOutcome(s, true, 10_000, config, room()), false);
  assert.equal(s.consecutiveFailures, 0);
  assert.equal(s.ejectedUntil, 30_000);
});

test('a repeat ejection soon after the last one doubles, up to maxEjectionMs', () => {
  const s = fresh();
  const eject = (now: number) => {
    for (let i = 0; i < 5; i++) recordOutcome(s, true, now, config, room());
    return s.ejectedUntil - now;
  };
  let now = 0;
  const lengths: number[] = [];
  for (let i = 0; i < 6; i++) {
    lengths.push(eject(now));
    now = s.ejectedUntil; // fails again the moment it is back
  }
  assert.deepEqual(lengths, [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
});

test('each ejectionMs spent in rotation forgives one earlier ejection', () => {
  const s = fresh();
  const eject = (now: number) => {
    for (let i = 0; i < 5; i++) recordOutcome(s, true, now, config, room());
    return s.ejectedUntil - now;
  };
  assert.equal(eject(0), 30_000);
  assert.equal(eject(30_000), 60_000);
  // Back at 90 s; two ejectionMs of good behaviour later it counts as a first offence again.
  assert.equal(eject(90_000 + 60_000), 30_000);
});

test('no more than maxEjectionPercent of the targets are ejected at once, but always at least one', () => {
  const s = fresh();
  for (let i = 0; i < 5; i++) assert.equal(recordOutcome(s, true, 0, config, room(2, 4)), false);
  assert.equal(s.consecutiveFailures, 5);
  // Once another target is back there is room, and the next failure ejects.
  assert.equal(recordOutcome(s, true, 0, config, room(1, 4)), true);
  const lone = fresh();
  for (let i = 0; i < 4; i++) recordOutcome(lone, true, 0, config, room(0, 1));
  assert.equal(recordOutcome(lone, true, 0, config, room(0, 1)), true);
});
