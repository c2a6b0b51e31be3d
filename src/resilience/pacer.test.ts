import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { withDeadline } from './deadline.ts';
import { createPacer, type PacerOptions } from './pacer.ts';
import { pacingFeedback } from './rate-limit-headers.ts';
import { FakeClock, flush, type Tracked, track } from './testing.ts';

interface Res {
  status: number;
  headers: Record<string, string>;
}

const OK: Res = { status: 200, headers: {} };

/** A pacer on a fake clock, and a partner that records when each call reached it. */
function setup(options: Partial<PacerOptions<Res>> = {}) {
  const clock = new FakeClock();
  const pacer = createPacer<Res>({
    requests: 100,
    perMs: 60_000,
    clock,
    feedback: (o, now) => (o.ok ? pacingFeedback(o.value.status, o.value.headers, now) : undefined),
    ...options,
  });
  const sent: number[] = [];
  const call = (answer: Res = OK, signal?: AbortSignal): Tracked<Res> =>
    track(
      pacer.execute(() => {
        sent.push(clock.now());
        return Promise.resolve(answer);
      }, signal),
    );
  return { clock, pacer, sent, call };
}

function codeOf(t: Tracked<unknown>): string | undefined {
  return isJunctionError(t.error) ? t.error.code : undefined;
}

test('100 requests per minute: calls go 600 ms apart, in arrival order, and none is refused', async () => {
  const { clock, sent, call } = setup();
  const calls = Array.from({ length: 5 }, () => call());
  await clock.advance(5_000);
  assert.deepEqual(sent, [0, 600, 1200, 1800, 2400]);
  assert.ok(calls.every((c) => c.value?.status === 200));
});

test('burst lets that many calls go at once after a quiet spell, then spaces the rest', async () => {
  const { clock, sent, call } = setup({ requests: 10, perMs: 1_000, burst: 3 });
  for (let i = 0; i < 5; i++) call();
  await clock.advance(1_000);
  assert.deepEqual(sent, [0, 0, 0, 100, 200]);
});

test('a call whose slot is beyond maxWaitMs is refused at once with pacing_wait_exceeded and Retry-After', async () => {
  const { clock, pacer, call } = setup({ requests: 1, perMs: 10_000, maxWaitMs: 5_000 });
  const first = call();
  await flush();
  const second = call();
  await flush();
  assert.ok(first.settled && second.settled, 'neither waits');
  assert.equal(codeOf(second), 'pacing_wait_exceeded');
  assert.equal((second.error as { status: number }).status, 503);
  assert.equal((second.error as { headers: Record<string, string> }).headers['retry-after'], '10');
  assert.equal(pacer.snapshot().totals.waitExceeded, 1);
  assert.equal(clock.pendingTimers, 0);
});

test('a call whose slot comes after its own deadline is refused at once; one whose slot comes before waits', async () => {
  const { clock, sent, call } = setup({ requests: 1, perMs: 1_000, maxWaitMs: 30_000 });
  call();
  await flush();
  const short = call(OK, withDeadline(new AbortController().signal, clock.now() + 500));
  await flush();
  assert.ok(short.settled, 'refused without waiting out its deadline');
  assert.equal(codeOf(short), 'pacing_wait_exceeded');
  assert.match((short.error as Error).message, /past the request's deadline/);
  const long = call(OK, withDeadline(new AbortController().signal, clock.now() + 5_000));
  await clock.advance(1_000);
  assert.equal(long.value?.status, 200);
  assert.deepEqual(sent, [0, 1_000]);
});

test('with maxQueue calls waiting, the next is refused at once with pacing_queue_full', async () => {
  const { clock, pacer, sent, call } = setup({ requests: 10, perMs: 1_000, maxQueue: 2 });
  const calls = Array.from({ length: 4 }, () => call());
  await flush();
  assert.equal(pacer.snapshot().queued, 2);
  assert.equal(codeOf(calls[3]!), 'pacing_queue_full');
  assert.ok(!calls[2]!.settled);
  await clock.advance(1_000);
  assert.deepEqual(sent, [0, 100, 200]);
  assert.equal(pacer.snapshot().totals.queueFull, 1);
});

test('maxQueue 0 never holds a call: only those whose slot is now go', async () => {
  const { clock, sent, call } = setup({ requests: 10, perMs: 1_000, maxQueue: 0 });
  const a = call();
  const b = call();
  await clock.advance(100);
  const c = call();
  await flush();
  assert.deepEqual(sent, [0, 100]);
  assert.equal(a.value?.status, 200);
  assert.equal(codeOf(b), 'pacing_queue_full');
  assert.equal(c.value?.status, 200);
});

test('a waiting call that aborts gives its slot back: the calls behind it move up', async () => {
  const { clock, pacer, sent, call } = setup({ requests: 1, perMs: 1_000 });
  const ac = new AbortController();
  call();
  const b = call(OK, ac.signal);
  const c = call();
  await flush();
  assert.equal(pacer.snapshot().queued, 2);
  ac.abort(new Error('client gone'));
  await flush();
  assert.equal((b.error as Error).message, 'client gone');
  assert.equal(pacer.snapshot().queued, 1);
  const d = call();
  await clock.advance(3_000);
  assert.deepEqual(sent, [0, 1_000, 2_000], 'c took b’s slot and d c’s; no slot is lost');
  assert.ok(c.settled && d.settled);
  assert.equal(clock.pendingTimers, 0);
});

test('a 429 with Retry-After pauses every call until then and halves the rate; successes bring it back', async () => {
  const { clock, pacer, sent, call } = setup({ requests: 10, perMs: 1_000 });
  const throttled = call({ status: 429, headers: { 'retry-after': '2' } });
  const waiting = Array.from({ length: 3 }, () => call());
  await flush();
  assert.equal(
    throttled.value?.status,
    429,
    'the pacer hands the answer back; retrying is the retry layer’s call',
  );
  const snap = pacer.snapshot();
  assert.equal(snap.totals.pauses, 1);
  assert.equal(snap.decreases, 1);
  assert.equal(snap.currentRequests, 5);
  assert.ok(snap.pausedMs >= 1_999);
  await clock.advance(1_999);
  assert.deepEqual(sent, [0], 'nothing during the pause');
  await clock.advance(2_000);
  assert.deepEqual(sent, [0, 2_000, 2_200, 2_400], 'then spaced at the halved rate');
  assert.ok(waiting.every((w) => w.value?.status === 200));
  // Each success adds a tenth of the configured rate back (10 requests per window → steps of 1/10).
  assert.equal(pacer.snapshot().currentRequests, 8);
  for (let i = 0; i < 5; i++) call();
  await clock.advance(2_000);
  assert.equal(pacer.snapshot().currentRequests, 10);
});

test('throttles of calls sent in one congestion epoch halve the rate once', async () => {
  const { clock, pacer, call } = setup({ requests: 10, perMs: 1_000, burst: 3 });
  for (let i = 0; i < 3; i++) call({ status: 429, headers: {} });
  await flush();
  const snap = pacer.snapshot();
  assert.equal(snap.decreases, 1);
  assert.equal(snap.currentRequests, 5);
  assert.equal(snap.totals.pauses, 1, 'one pause, extended');
  // Without Retry-After the pause is one interval at half the configured rate.
  assert.equal(snap.pausedMs, 200);
  await clock.advance(1_000);
});

test('RateLimit remaining slows the pacer before it runs out; remaining 0 pauses until the reset', async () => {
  const { clock, pacer, sent, call } = setup({ requests: 10, perMs: 1_000 });
  call({ status: 200, headers: { ratelimit: '"default";r=2;t=1' } });
  await flush();
  assert.equal(pacer.snapshot().intervalMs, 500, '2 calls left in 1 s: 500 ms apart');
  assert.equal(pacer.snapshot().limitedBy, 'remaining');
  // GCRA: the spacing after a call is the one in force when it reserved; the first reserved 100 ms.
  call();
  call({ status: 200, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '3' } });
  call();
  await clock.advance(5_000);
  assert.deepEqual(sent, [0, 100, 600, 3_600]);
  assert.equal(pacer.snapshot().totals.pauses, 1);
  assert.equal(pacer.snapshot().decreases, 0, 'a known reset is not congestion');
  assert.equal(pacer.snapshot().intervalMs, 100, 'the hint lasts until its reset');
});

test('with adaptive false the pacer keeps its rate whatever the partner says', async () => {
  const { clock, pacer, sent, call } = setup({ requests: 10, perMs: 1_000, adaptive: false });
  call({ status: 429, headers: { 'retry-after': '5' } });
  call();
  await clock.advance(1_000);
  assert.deepEqual(sent, [0, 100]);
  assert.equal(pacer.snapshot().currentRequests, 10);
});

test('a caller that gave up before its turn is refused without reserving', async () => {
  const { pacer, sent } = setup();
  const ac = new AbortController();
  ac.abort(new Error('gone'));
  await assert.rejects(
    pacer.execute(() => Promise.resolve(OK), ac.signal),
    /gone/,
  );
  assert.deepEqual(sent, []);
  assert.equal(pacer.snapshot().backlogMs, 0);
});

test('settings the pacer cannot honour are refused when it is built', () => {
  assert.throws(() => createPacer({ requests: 0, perMs: 1_000 }), RangeError);
  assert.throws(() => createPacer({ requests: 1, perMs: 0 }), RangeError);
  assert.throws(() => createPacer({ requests: 1, perMs: 1_000, burst: 0 }), RangeError);
});
