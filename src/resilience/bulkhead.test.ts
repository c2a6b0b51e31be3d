import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { createBulkhead } from './bulkhead.ts';
import { FakeClock, flush, track } from './testing.ts';

/** Operations the test finishes by hand, recording which ones started. */
function gate() {
  const started: string[] = [];
  const finishers = new Map<string, (v: string) => void>();
  const op = (name: string) => () => {
    started.push(name);
    return new Promise<string>((resolve) => finishers.set(name, resolve));
  };
  const finish = async (name: string) => {
    finishers.get(name)?.(name);
    await flush();
  };
  return { started, op, finish };
}

test('runs at most maxConcurrent operations at once', async () => {
  const b = createBulkhead<string>({ maxConcurrent: 2, maxQueue: 5, clock: new FakeClock() });
  const g = gate();
  const calls = ['a', 'b', 'c', 'd'].map((n) => track(b.execute(g.op(n))));
  await flush();
  assert.deepEqual(g.started, ['a', 'b']);
  assert.deepEqual(b.snapshot(), {
    maxConcurrent: 2,
    maxQueue: 5,
    running: 2,
    queued: 2,
    rejected: 0,
    timedOut: 0,
  });
  await g.finish('a');
  assert.deepEqual(g.started, ['a', 'b', 'c']);
  assert.equal(calls[0]!.value, 'a');
  assert.equal(b.snapshot().running, 2);
});

test('queued calls start first in, first out as slots free', async () => {
  const b = createBulkhead<string>({ maxConcurrent: 1, maxQueue: 3, clock: new FakeClock() });
  const g = gate();
  for (const n of ['a', 'b', 'c', 'd']) track(b.execute(g.op(n)));
  for (const n of ['a', 'b', 'c']) await g.finish(n);
  assert.deepEqual(g.started, ['a', 'b', 'c', 'd']);
});

test('queue full rejects at once with bulkhead_full, without running the operation', async () => {
  const b = createBulkhead<string>({ maxConcurrent: 1, clock: new FakeClock(), name: 'crm' });
  const g = gate();
  track(b.execute(g.op('a')));
  let called = false;
  const refused = track(
    b.execute(async () => {
      called = true;
      return 'b';
    }),
  );
  await flush();
  const e = refused.error;
  assert.ok(isJunctionError(e), 'rejected at once, not queued');
  assert.equal(e.code, 'bulkhead_full');
  assert.equal(e.status, 503);
  assert.equal(e.title, 'Upstream concurrency limit reached');
  assert.equal(e.extensions?.reason, 'queue_full');
  assert.match(e.message, /crm/);
  assert.equal(called, false);
  assert.equal(b.snapshot().rejected, 1);
});

test('queue timeout rejects with bulkhead_full and the call never runs', async () => {
  const clock = new FakeClock();
  const b = createBulkhead<string>({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 500, clock });
  const g = gate();
  track(b.execute(g.op('a')));
  const waiting = track(b.execute(g.op('b')));
  await clock.advance(499);
  assert.equal(waiting.settled, false);
  await clock.advance(1);
  assert.ok(isJunctionError(waiting.error));
  assert.equal(waiting.error.code, 'bulkhead_full');
  assert.equal(waiting.error.extensions?.reason, 'queue_timeout');
  assert.match(waiting.error.message, /timed out after 500 ms in the queue/);
  assert.deepEqual([b.snapshot().queued, b.snapshot().timedOut], [0, 1]);
  await g.finish('a');
  assert.deepEqual(g.started, ['a']);
});

test('a queued call whose signal aborts leaves the queue and rejects with the reason', async () => {
  const clock = new FakeClock();
  const b = createBulkhead<string>({ maxConcurrent: 1, maxQueue: 2, queueTimeoutMs: 1_000, clock });
  const g = gate();
  track(b.execute(g.op('a')));
  const controller = new AbortController();
  const gone = track(b.execute(g.op('b'), controller.signal));
  track(b.execute(g.op('c')));
  const reason = new Error('client went away');
  controller.abort(reason);
  await flush();
  assert.equal(gone.error, reason);
  assert.equal(b.snapshot().queued, 1);
  assert.equal(clock.pendingTimers, 1, 'the aborted waiter’s queue timer is cleared');
  await g.finish('a');
  assert.deepEqual(g.started, ['a', 'c']);
});

test('a slot is freed when the operation rejects or throws', async () => {
  const b = createBulkhead<string>({ maxConcurrent: 1, clock: new FakeClock() });
  await assert.rejects(
    b.execute(() => Promise.reject(new Error('reset'))),
    /reset/,
  );
  await assert.rejects(
    b.execute(() => {
      throw new Error('sync');
    }),
    /sync/,
  );
  assert.equal(await b.execute(async () => 'ok'), 'ok');
  assert.equal(b.snapshot().running, 0);
});

test('an already aborted call takes no slot', async () => {
  const b = createBulkhead<string>({ maxConcurrent: 1, clock: new FakeClock() });
  await assert.rejects(
    b.execute(async () => 'x', AbortSignal.abort(new Error('gone'))),
    /gone/,
  );
  assert.equal(b.snapshot().running, 0);
});

test('hands on the attempt and signal it was given', async () => {
  const b = createBulkhead<number>({ maxConcurrent: 1 });
  const signal = new AbortController().signal;
  assert.equal(await b.execute(async (ctx) => (ctx.signal === signal ? ctx.attempt : -1), signal, 2), 2);
});

test('bad settings are refused', () => {
  assert.throws(() => createBulkhead({ maxConcurrent: 0 }), RangeError);
  assert.throws(() => createBulkhead({ maxConcurrent: 1, maxQueue: -1 }), RangeError);
  assert.throws(() => createBulkhead({ maxConcurrent: 1, queueTimeoutMs: 0 }), RangeError);
});
