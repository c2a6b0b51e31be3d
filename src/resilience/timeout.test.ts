import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { FakeClock, flush, track } from './testing.ts';
import { createTimeout } from './timeout.ts';
import type { CallContext } from './types.ts';

const never = () => new Promise<never>(() => {});

test('rejects with deadline_exceeded once ms pass, and aborts the operation signal', async () => {
  const clock = new FakeClock();
  let seen: AbortSignal | undefined;
  const call = track(
    createTimeout<string>({ ms: 100, clock }).execute(({ signal }) => {
      seen = signal;
      return never();
    }),
  );
  await clock.advance(99);
  assert.equal(call.settled, false);
  assert.equal(seen?.aborted, false);
  await clock.advance(1);
  assert.ok(isJunctionError(call.error));
  assert.equal(call.error.code, 'deadline_exceeded');
  assert.equal(call.error.status, 504);
  assert.equal(call.error.title, 'Upstream call exceeded its deadline');
  assert.equal(seen?.aborted, true);
  assert.equal(seen?.reason, call.error);
});

test('resolves with the value of an operation that finishes in time and leaves no timer or listener behind', async () => {
  const clock = new FakeClock();
  const signal = new AbortController().signal;
  const value = await createTimeout<string>({ ms: 100, clock }).execute(async () => 'ok', signal);
  assert.equal(value, 'ok');
  assert.equal(clock.pendingTimers, 0);
  assert.equal(getEventListeners(signal, 'abort').length, 0);
});

test('an operation that rejects in time passes its error through unchanged and clears the timer', async () => {
  const clock = new FakeClock();
  const boom = new Error('refused');
  await assert.rejects(
    createTimeout({ ms: 100, clock }).execute(() => Promise.reject(boom)),
    (e) => e === boom,
  );
  await assert.rejects(
    createTimeout({ ms: 100, clock }).execute(() => {
      throw boom;
    }),
    (e) => e === boom,
  );
  assert.equal(clock.pendingTimers, 0);
});

test('an outer abort rejects promptly with its reason and aborts the operation', async () => {
  const clock = new FakeClock();
  const outer = new AbortController();
  let seen: AbortSignal | undefined;
  const call = track(
    createTimeout<string>({ ms: 10_000, clock }).execute(({ signal }) => {
      seen = signal;
      return never();
    }, outer.signal),
  );
  const reason = new Error('client went away');
  outer.abort(reason);
  await flush();
  assert.equal(call.error, reason);
  assert.equal(seen?.reason, reason);
  assert.equal(clock.pendingTimers, 0);
});

test('an already aborted signal rejects without calling the operation', async () => {
  const outer = new AbortController();
  outer.abort(new Error('gone'));
  let called = false;
  await assert.rejects(
    createTimeout({ ms: 100, clock: new FakeClock() }).execute(async () => {
      called = true;
    }, outer.signal),
    /gone/,
  );
  assert.equal(called, false);
});

test('uses the given error factory, so a per-try timeout can report its own code', async () => {
  const clock = new FakeClock();
  const call = track(createTimeout({ ms: 5, clock, error: () => new Error('per-try') }).execute(never));
  await clock.advance(5);
  assert.equal((call.error as Error).message, 'per-try');
});

test('a value that arrives after the deadline fired is discarded', async () => {
  const clock = new FakeClock();
  const discarded: string[] = [];
  let finish: (v: string) => void = () => {};
  const call = track(
    createTimeout<string>({ ms: 10, clock, discard: (v) => discarded.push(v) }).execute(
      () => new Promise<string>((resolve) => (finish = resolve)),
    ),
  );
  await clock.advance(10);
  assert.ok(isJunctionError(call.error));
  finish('late body');
  await flush();
  assert.deepEqual(discarded, ['late body']);
});

test('hands on the attempt it was given and a child signal', async () => {
  let ctx: CallContext | undefined;
  const outer = new AbortController();
  await createTimeout({ ms: 10, clock: new FakeClock() }).execute(
    async (c) => {
      ctx = c;
    },
    outer.signal,
    3,
  );
  assert.equal(ctx?.attempt, 3);
  assert.notEqual(ctx?.signal, outer.signal);
});

test('refuses a timeout that setTimeout cannot honour', () => {
  assert.throws(() => createTimeout({ ms: 0 }), RangeError);
  assert.throws(() => createTimeout({ ms: 2 ** 31 }), RangeError);
  assert.throws(() => createTimeout({ ms: Number.NaN }), RangeError);
});
