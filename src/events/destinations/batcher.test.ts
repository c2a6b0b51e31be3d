import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock, flush, track } from '../../resilience/index.ts';
import { createBatcher } from './batcher.ts';
import type { DeliveryOutcome, OutgoingEvent } from './types.ts';

function event(n: number): OutgoingEvent {
  return {
    id: `evt_${n}`,
    source: 'shop',
    type: 'order.created',
    receivedAt: 0,
    payload: `{"n":${n}}`,
    contentType: 'application/json',
  };
}

/** A destination that records the batches it gets and answers with `answer`. */
function recorder(
  answer: (events: readonly OutgoingEvent[]) => DeliveryOutcome = () => ({ kind: 'delivered', ms: 1 }),
) {
  const batches: string[][] = [];
  return {
    batches,
    async deliver(events: readonly OutgoingEvent[]) {
      batches.push(events.map((e) => e.id));
      return answer(events);
    },
  };
}

test('a batch goes out as soon as it holds maxEvents, without waiting', async () => {
  const clock = new FakeClock();
  const dest = recorder();
  const batcher = createBatcher(dest, { maxEvents: 3, maxWaitMs: 1_000, clock });
  const outcomes = [1, 2, 3].map((n) => batcher.add(event(n)));
  assert.deepEqual(await Promise.all(outcomes), Array(3).fill({ kind: 'delivered', ms: 1 }));
  assert.deepEqual(dest.batches, [['evt_1', 'evt_2', 'evt_3']]);
  assert.equal(clock.pendingTimers, 0);
});

test('a partial batch goes out maxWaitMs after its first event, not before', async () => {
  const clock = new FakeClock();
  const dest = recorder();
  const batcher = createBatcher(dest, { maxEvents: 10, maxWaitMs: 500, clock });
  const first = track(batcher.add(event(1)));
  await clock.advance(300);
  const second = track(batcher.add(event(2))); // joining does not restart the wait
  await clock.advance(199);
  assert.equal(dest.batches.length, 0);
  assert.equal(batcher.waiting, 2);
  await clock.advance(1);
  assert.deepEqual(dest.batches, [['evt_1', 'evt_2']]);
  assert.ok(first.settled && second.settled);
});

test('events after a full batch start a new batch with its own wait', async () => {
  const clock = new FakeClock();
  const dest = recorder();
  const batcher = createBatcher(dest, { maxEvents: 2, maxWaitMs: 100, clock });
  void batcher.add(event(1));
  await clock.advance(50);
  void batcher.add(event(2)); // full: sent now
  const third = track(batcher.add(event(3)));
  await clock.advance(99);
  assert.deepEqual(dest.batches, [['evt_1', 'evt_2']]);
  await clock.advance(1);
  await flush();
  assert.deepEqual(dest.batches, [['evt_1', 'evt_2'], ['evt_3']]);
  assert.ok(third.settled);
});

test('each event settles with its own outcome: those a failed batch does not name were delivered', async () => {
  const clock = new FakeClock();
  const dest = recorder(() => ({
    kind: 'reject',
    code: 'destination_event_invalid',
    error: 'event evt_2: its JSON payload does not parse',
    failedIds: ['evt_2'],
    ms: 4,
  }));
  const batcher = createBatcher(dest, { maxEvents: 3, maxWaitMs: 100, clock });
  const [a, b, c] = await Promise.all([1, 2, 3].map((n) => batcher.add(event(n))));
  assert.deepEqual(a, { kind: 'delivered', ms: 4 });
  assert.deepEqual(b, {
    kind: 'reject',
    code: 'destination_event_invalid',
    error: 'event evt_2: its JSON payload does not parse',
    ms: 4,
  });
  assert.deepEqual(c, a);
});

test('a whole failed batch fails every event in it', async () => {
  const dest = recorder(() => ({
    kind: 'retry',
    code: 'destination_status',
    error: 'HTTP 503',
    status: 503,
    ms: 2,
  }));
  const batcher = createBatcher(dest, { maxEvents: 2, maxWaitMs: 100, clock: new FakeClock() });
  const outcomes = await Promise.all([batcher.add(event(1)), batcher.add(event(2))]);
  for (const o of outcomes) assert.equal(o.kind === 'retry' && o.status, 503);
});

test('close() sends what waits at once, and later events are turned away as retries', async () => {
  const clock = new FakeClock();
  const dest = recorder();
  const batcher = createBatcher(dest, { maxEvents: 10, maxWaitMs: 60_000, clock });
  const waiting = track(batcher.add(event(1)));
  await batcher.close();
  assert.ok(waiting.settled);
  assert.deepEqual(dest.batches, [['evt_1']]);
  assert.equal(clock.pendingTimers, 0);
  const late = await batcher.add(event(2));
  assert.equal(late.kind === 'retry' && late.code, 'destination_aborted');
  assert.equal(dest.batches.length, 1);
});

test('a destination that throws (it should not) fails its batch as a retry rather than hanging it', async () => {
  const batcher = createBatcher(
    {
      deliver: async () => {
        throw new Error('boom');
      },
    },
    { maxEvents: 1, maxWaitMs: 0, clock: new FakeClock() },
  );
  const outcome = await batcher.add(event(1));
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_unreachable');
});

test('maxEvents below 1 or a negative maxWaitMs are refused', () => {
  assert.throws(() => createBatcher(recorder(), { maxEvents: 0, maxWaitMs: 10 }), RangeError);
  assert.throws(() => createBatcher(recorder(), { maxEvents: 1, maxWaitMs: -1 }), RangeError);
});
