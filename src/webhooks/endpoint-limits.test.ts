import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createEndpointLimits,
  type EndpointLimits,
  HORIZON_MS,
  type Limits,
  PARK_MS,
  QUEUE_WAIT_MS,
} from './endpoint-limits.ts';

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

/** Runs one attempt of each duration at endpoint `ep`, one after the other (the endpoint's history). */
async function attempts(limits: EndpointLimits, l: Limits, durations: readonly number[]): Promise<void> {
  for (const [i, ms] of durations.entries()) {
    const a = await limits.acquire('ep', `past${i}`, l);
    assert.ok(a.ok);
    a.done(ms);
  }
}

/** Whether `p` has settled once the microtasks queued now have run (no timer waited for). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  await new Promise((resolve) => setImmediate(resolve));
  return (await Promise.race([p, Promise.resolve(pending)])) !== pending;
}

test('concurrency: one over the limit waits in line and is handed the place of the attempt that ends; more are postponed, the backlog at most once a second', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep, random: () => 0 });
  const one = { ratePerSecond: null, maxConcurrency: 1 };
  const a = await limits.acquire('ep', 'a', one);
  assert.ok(a.ok);
  const b = limits.acquire('ep', 'b', one);
  assert.equal(await settled(b), false, 'b waits in line');
  const c1 = await limits.acquire('ep', 'c', one);
  assert.ok(!c1.ok && c1.reason === 'concurrency', 'the line is full: c is parked');
  assert.equal(c1.until, c.now() + PARK_MS);
  assert.equal(c1.backlogUntil, c.now() + PARK_MS, 'with the due backlog');
  const c2 = await limits.acquire('ep', 'c', one);
  assert.ok(!c2.ok && c2.backlogUntil === undefined);
  // Another endpoint is not limited by this one.
  assert.equal((await limits.acquire('other', 'x', one)).ok, true);
  a.done(10);
  a.done(10); // idempotent: hands over one place, once
  const handed = await b;
  assert.ok(handed.ok, 'b is handed the place');
  const d = limits.acquire('ep', 'd', one);
  assert.equal(await settled(d), false, "the place is b's: d waits");
  handed.done(10);
  const dHanded = await d;
  assert.ok(dHanded.ok);
  dHanded.done(10);
  // Nothing in line: the place is free again.
  const e = await limits.acquire('ep', 'e', one);
  assert.ok(e.ok);
});

test('concurrency: a delivery in line gives up after the give-up time when the attempt ahead hangs', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep, queueGiveUpMs: 30 });
  const one = { ratePerSecond: null, maxConcurrency: 1 };
  const a = await limits.acquire('ep', 'a', one);
  assert.ok(a.ok);
  const b = await limits.acquire('ep', 'b', one);
  assert.ok(!b.ok && b.reason === 'concurrency');
  // Gone from the line: the ending attempt frees its place instead of handing it to b.
  a.done(10);
  assert.ok((await limits.acquire('ep', 'c', one)).ok);
});

test('concurrency: an endpoint whose attempts take long is not waited for in line', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const one = { ratePerSecond: null, maxConcurrency: 1 };
  await attempts(limits, one, Array(30).fill(3 * QUEUE_WAIT_MS));
  const a = await limits.acquire('ep', 'a', one);
  assert.ok(a.ok);
  const b = limits.acquire('ep', 'b', one);
  assert.equal(await settled(b), true, 'postponed at once, no worker slot held for seconds');
  assert.ok(!(await b).ok);
});

test('concurrency: a freed place asks to bring parked deliveries forward, one bring at a time, only while some were parked lately', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const two = { ratePerSecond: null, maxConcurrency: 2 };
  const a = await limits.acquire('ep', 'a', two);
  assert.ok(a.ok);
  assert.equal(a.done(10), 0, 'nothing parked: nothing to bring');
  const running = [await limits.acquire('ep', 'b', two), await limits.acquire('ep', 'c', two)];
  const line = [limits.acquire('ep', 'd', two), limits.acquire('ep', 'e', two)];
  const parked = await limits.acquire('ep', 'f', two);
  assert.ok(!parked.ok);
  const [b, c2] = running;
  assert.ok(b?.ok && c2?.ok);
  // b's place goes to d; the line has room again: bring 2 (the line's length) forward.
  assert.equal(b.done(10), 2);
  const d = await line[0]!;
  assert.ok(d.ok);
  assert.equal(c2.done(10), 0, 'one bring at a time per endpoint');
  limits.pulled('ep');
  assert.equal(d.done(10), 2, 'the next freed place may ask again');
  limits.pulled('ep');
  const e = await line[1]!;
  assert.ok(e.ok);
  c.advance(PARK_MS + 1);
  assert.equal(e.done(10), 0, 'nothing parked for PARK_MS: nothing to bring');
});

test('concurrency: one attempt that hung does not keep deliveries out of line (a median, not a mean); one hanging now does', async () => {
  const c = clock();
  const limits = createEndpointLimits({ now: c.now, sleep: c.sleep });
  const one = { ratePerSecond: null, maxConcurrency: 1 };
  await attempts(limits, one, [40, 40, 40, 40, 40, 40, 40, 15_000]);
  const a = await limits.acquire('ep', 'a', one);
  assert.ok(a.ok);
  const line = limits.acquire('ep', 'b', one);
  assert.equal(await settled(line), false, 'a place expected in ~40 ms (the mean would say ~1.9 s)');
  a.done(40);
  const b = await line;
  assert.ok(b.ok);
  // b has run for 3 s: a place is not expected soon, so nobody waits in line for it.
  c.advance(3_000);
  const later = limits.acquire('ep', 'c', one);
  assert.equal(await settled(later), true);
  assert.ok(!(await later).ok);
  b.done(3_000);
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
