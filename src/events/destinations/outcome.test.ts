import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DestinationEventInvalid, DestinationTimeout } from './errors.ts';
import { combine, outcomeOf, reject, retry } from './outcome.ts';

const ok = { kind: 'delivered' } as const;

test('a batch of separate messages is delivered only when every message is', () => {
  assert.deepEqual(
    combine([
      { id: 'a', outcome: ok },
      { id: 'b', outcome: ok },
    ]),
    ok,
  );
});

test('one message to retry makes the batch a retry that lists every undelivered event, refused ones too', () => {
  const outcome = combine([
    { id: 'a', outcome: ok },
    { id: 'b', outcome: reject(DestinationEventInvalid, 'too large') },
    { id: 'c', outcome: retry(DestinationTimeout, 'no ack') },
  ]);
  assert.deepEqual(outcome, {
    kind: 'retry',
    code: 'destination_timeout',
    error: 'no ack (and 1 more failed)',
    failedIds: ['b', 'c'],
  });
});

test('refused messages without retries make the batch a reject that names them', () => {
  const outcome = combine([
    { id: 'a', outcome: reject(DestinationEventInvalid, 'too large') },
    { id: 'b', outcome: ok },
  ]);
  assert.deepEqual(outcome, {
    kind: 'reject',
    code: 'destination_event_invalid',
    error: 'too large',
    failedIds: ['a'],
  });
});

test('a single event keeps its own outcome, without failedIds', () => {
  assert.deepEqual(combine([{ id: 'a', outcome: retry(DestinationTimeout, 'no ack') }]), {
    kind: 'retry',
    code: 'destination_timeout',
    error: 'no ack',
  });
});

test('outcomeOf: events the batch does not name were delivered; those it names share its failure', () => {
  const batch = { ...retry(DestinationTimeout, 'no ack', { failedIds: ['b'] }), ms: 7 };
  assert.deepEqual(outcomeOf('a', batch), { kind: 'delivered', ms: 7 });
  assert.deepEqual(outcomeOf('b', batch), {
    kind: 'retry',
    code: 'destination_timeout',
    error: 'no ack',
    ms: 7,
  });
  const whole = { ...retry(DestinationTimeout, 'no ack'), ms: 7 };
  assert.equal(outcomeOf('a', whole).kind, 'retry');
});
