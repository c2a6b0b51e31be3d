import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKLOG_PUSH_MS, createEndpointLimits, HORIZON_MS } from './endpoint-limits.ts';

function clock(start = 1_000_000) {
  let t = start;
  const slept: number[] = [];
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    slept,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
  };
}

test('rate: the first goes at once, the next are booked one interval apart and sent at their slot', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const rate = { ratePerSecond: 5, maxConcurrency: null };
  const first = await limits.acquire('ep', 'd1', rate);
  assert.equal(first.ok, true);
  const second = await limits.acquire('ep', 'd2', rate);
  assert.deepEqual(second, { ok: false, until: c.now() + 200, reason: 'rate' });
  const third = await limits.acquire('ep', 'd3', rate);
  assert.deepEqual(third, { ok: false, until: c.now() + 400, reason: 'rate' });
  // Claimed again before its slot: still waits for it, without booking another.
  c.advance(100);
  assert.deepEqual(await limits.acquire('ep', 'd2', rate), {
    ok: false,
    until: c.now() + 100,
    reason: 'rate',
  });
  // At its slot it goes, using the booking (the schedule is not moved).
  c.advance(100);
  assert.equal((await limits.acquire('ep', 'd2', rate)).ok, true);
  c.advance(200);
  assert.equal((await limits.acquire('ep', 'd3', rate)).ok, true);
  // The next new one gets the slot after d3's.
  assert.deepEqual(await limits.acquire('ep', 'd4', rate), {
    ok: false,
    until: c.now() + 200,
    reason: 'rate',
  });
});

test('rate: beyond the horizon nothing is booked and the backlog is pushed to when the schedule frees', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const rate = { ratePerSecond: 1, maxConcurrency: null };
  let booked = 0;
  let answer: Awaited<ReturnType<typeof limits.acquire>> | undefined;
  for (let i = 0; i < 100; i++) {
    answer = await limits.acquire('ep', `d${i}`, rate);
    if (!answer.ok && answer.backlogUntil !== undefined) break;
    booked++;
  }
  assert.equal(booked, HORIZON_MS / 1000 + 1);
  assert.ok(answer !== undefined && !answer.ok);
  assert.equal(answer.backlogUntil, c.now() + HORIZON_MS + 1000);
  assert.equal(answer.until, answer.backlogUntil);
  // The pushed backlog comes due one slot (1 s) apart on average, not all at once.
  assert.equal(answer.backlogSpacingMs, 1000);
});

test('rate: a wait of a few ms is slept in place', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const rate = { ratePerSecond: 1000, maxConcurrency: null };
  assert.equal((await limits.acquire('ep', 'a', rate)).ok, true);
  const b = await limits.acquire('ep', 'b', rate);
  assert.equal(b.ok, true);
  assert.deepEqual(c.slept, [1]);
});

test('concurrency: over the limit waits, a finished attempt frees the place; the backlog is pushed at most once a second', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const one = { ratePerSecond: null, maxConcurrency: 1 };
  const a = await limits.acquire('ep', 'a', one);
  assert.ok(a.ok);
  const b = await limits.acquire('ep', 'b', one);
  assert.ok(!b.ok && b.reason === 'concurrency');
  assert.equal(b.backlogUntil, c.now() + BACKLOG_PUSH_MS);
  assert.equal(b.backlogSpacingMs, 20, 'no attempt measured yet: the shortest wait');
  const b2 = await limits.acquire('ep', 'b', one);
  assert.ok(!b2.ok && b2.backlogUntil === undefined);
  // Another endpoint is not limited by this one.
  assert.equal((await limits.acquire('other', 'x', one)).ok, true);
  a.done(10);
  a.done(10); // idempotent
  const b3 = await limits.acquire('ep', 'b', one);
  assert.ok(b3.ok);
  assert.equal((await limits.acquire('ep', 'c', one)).ok, false);
});

test('concurrency: the pushed backlog is spaced by how often a place frees (attempt time / max)', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const two = { ratePerSecond: null, maxConcurrency: 2 };
  // Attempts of 1 s: the typical duration (an EWMA) approaches 1000 ms.
  for (let i = 0; i < 30; i++) {
    const a = await limits.acquire('ep', `warm${i}`, two);
    assert.ok(a.ok);
    a.done(1000);
  }
  const held = [await limits.acquire('ep', 'a', two), await limits.acquire('ep', 'b', two)];
  assert.ok(held.every((h) => h.ok));
  c.advance(BACKLOG_PUSH_MS);
  const over = await limits.acquire('ep', 'c', two);
  assert.ok(!over.ok && over.backlogSpacingMs !== undefined);
  // Two places, each freeing every ~1000 ms: one delivery every ~500 ms.
  assert.ok(over.backlogSpacingMs > 490 && over.backlogSpacingMs <= 500, `${over.backlogSpacingMs}`);
});

test('concurrency and rate together: a rate wait gives the concurrency place back', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const both = { ratePerSecond: 1, maxConcurrency: 1 };
  const a = await limits.acquire('ep', 'a', both);
  assert.ok(a.ok);
  a.done(5);
  const b = await limits.acquire('ep', 'b', both);
  assert.ok(!b.ok && b.reason === 'rate');
  // b holds no concurrency place while it waits for its slot.
  c.advance(1000);
  assert.equal((await limits.acquire('ep', 'b', both)).ok, true);
});
