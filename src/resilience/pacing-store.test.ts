import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryPacingStore, type Reservation } from './pacing-store.ts';
import { FakeClock } from './testing.ts';

const T = { intervalMs: 100, toleranceMs: 0, maxWaitMs: 1_000 };

function ok(r: Reservation): Extract<Reservation, { ok: true }> {
  assert.ok(r.ok);
  return r;
}

test('GCRA: each reservation takes the next slot, T apart; an idle spell is not banked', async () => {
  const clock = new FakeClock();
  const store = createMemoryPacingStore(clock);
  assert.deepEqual(
    [0, 1, 2].map(() => ok(store.reserve(T)).waitMs),
    [0, 100, 200],
  );
  await clock.advance(10_000);
  assert.deepEqual(
    [0, 1].map(() => ok(store.reserve(T)).waitMs),
    [0, 100],
  );
});

test('a slot beyond maxWaitMs is refused and not reserved', () => {
  const store = createMemoryPacingStore(new FakeClock());
  for (let i = 0; i < 11; i++) ok(store.reserve(T));
  const refused = store.reserve(T);
  assert.equal(refused.ok, false);
  assert.equal(refused.waitMs, 1_100);
  assert.equal(store.snapshot().backlogMs, 1_100);
});

test('tolerance lets burst calls go at once: τ = (burst − 1)·T', () => {
  const store = createMemoryPacingStore(new FakeClock());
  const burst = { ...T, toleranceMs: 200 };
  assert.deepEqual(
    [0, 1, 2, 3].map(() => ok(store.reserve(burst)).waitMs),
    [0, 0, 0, 100],
  );
});

test('release gives back only the last slot; an earlier one stays taken', () => {
  const store = createMemoryPacingStore(new FakeClock());
  const a = ok(store.reserve(T));
  const b = ok(store.reserve(T));
  store.release(a.token, 100);
  assert.equal(ok(store.reserve(T)).waitMs, 200, 'a was not the last: its slot is not reused');
  const c = ok(store.reserve(T));
  store.release(c.token, 100);
  assert.equal(ok(store.reserve(T)).waitMs, 300, 'c was the last: the next call takes its slot');
  assert.ok(b.ok);
});

test('a throttle pauses every slot until its end, and raises the epoch once per epoch', () => {
  const store = createMemoryPacingStore(new FakeClock());
  const a = ok(store.reserve(T));
  assert.deepEqual(store.throttle({ epoch: a.epoch, pauseMs: 2_000, decrease: true }), {
    epoch: 1,
    pausedMs: 2_000,
  });
  assert.equal(store.throttle({ epoch: a.epoch, pauseMs: 500, decrease: true }).epoch, 1, 'same event');
  assert.equal(store.pausedMs(), 2_000, 'a shorter pause does not shorten it');
  assert.equal(ok(store.reserve({ ...T, maxWaitMs: 5_000 })).waitMs, 2_000);
  assert.equal(store.throttle({ epoch: 0, pauseMs: 0, decrease: false }).epoch, 1);
});
