import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { createNatsDestination } from './nats.ts';
import type { NatsDestinationConfig } from './schema.ts';
import type { OutgoingEvent } from './types.ts';

const SERVER = process.env.JUNCTION_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A stream of its own for each test (random name), deleted afterwards with the connection. */
async function stream(t: TestContext, options: { maxMsgSize?: number } = {}) {
  const nc: NatsConnection = await connect({ servers: SERVER });
  const jsm: JetStreamManager = await nc.jetstreamManager();
  const name = `JUNCTION_TEST_${randomBytes(6).toString('hex')}`;
  const prefix = name.toLowerCase();
  await jsm.streams.add({
    name,
    subjects: [`${prefix}.>`],
    ...(options.maxMsgSize === undefined ? {} : { max_msg_size: options.maxMsgSize }),
  });
  // One hook: node:test runs after-hooks in the order they were added, and the delete needs the connection.
  t.after(async () => {
    await jsm.streams.delete(name);
    await nc.close();
  });
  const count = async () => (await jsm.streams.info(name)).state.messages;
  const message = (seq: number) => jsm.streams.getMessage(name, { seq });
  return { name, prefix, count, message };
}

function destination(t: TestContext, config: Partial<NatsDestinationConfig>) {
  const d = createNatsDestination({
    type: 'nats',
    servers: [SERVER],
    subject: 'events.{type}',
    timeoutMs: 2_000,
    ...config,
  });
  t.after(() => d.close());
  return d;
}

let seq = 0;
function event(overrides: Partial<OutgoingEvent> = {}): OutgoingEvent {
  seq++;
  return {
    id: `evt_NATS${randomBytes(4).toString('hex')}${seq}`,
    source: 'shop',
    type: 'order.created',
    receivedAt: Date.now(),
    payload: JSON.stringify({ order: seq }),
    contentType: 'application/json',
    ...overrides,
  };
}

test('the same event delivered twice is stored once: Nats-Msg-Id is the event id', async (t) => {
  const s = await stream(t);
  const d = destination(t, { subject: `${s.prefix}.{source}.{type}` });
  const e = event();
  assert.equal((await d.deliver([e])).kind, 'delivered');
  assert.equal((await d.deliver([e])).kind, 'delivered');
  assert.equal(await s.count(), 1);
  const stored = await s.message(1);
  assert.equal(stored.subject, `${s.prefix}.shop.order.created`);
  assert.equal(stored.header.get('Nats-Msg-Id'), e.id);
  assert.equal(stored.header.get('content-type'), 'application/json');
  assert.equal(stored.header.get('x-junction-event-type'), 'order.created');
  assert.equal(Buffer.from(stored.data).toString(), e.payload);
});

test('a batch is one message per event, each acknowledged', async (t) => {
  const s = await stream(t);
  const d = destination(t, { subject: `${s.prefix}.{type}` });
  const outcome = await d.deliver([
    event(),
    event({ type: 'order.paid' }),
    event({ payload: Uint8Array.from([0, 1]) }),
  ]);
  assert.equal(outcome.kind, 'delivered');
  assert.equal(await s.count(), 3);
});

test('a subject no stream listens on is a retry: the stream may be created yet', async (t) => {
  const d = destination(t, { subject: `nostream_${randomBytes(6).toString('hex')}.{type}` });
  const outcome = await d.deliver([event()]);
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_unroutable');
});

test('an event type that makes an invalid subject is rejected without publishing', async (t) => {
  const s = await stream(t);
  const d = destination(t, { subject: `${s.prefix}.{type}` });
  for (const type of ['order created', 'orders.*', 'orders.>', 'orders..x']) {
    const outcome = await d.deliver([event({ type })]);
    assert.equal(outcome.kind === 'reject' && outcome.code, 'destination_event_invalid', type);
  }
  // The connection is still usable: a bad subject never reached the server.
  assert.equal((await d.deliver([event()])).kind, 'delivered');
  assert.equal(await s.count(), 1);
});

test('a message larger than the stream takes is rejected alone; the rest of the batch is stored', async (t) => {
  const s = await stream(t, { maxMsgSize: 256 });
  const d = destination(t, { subject: `${s.prefix}.{type}` });
  const big = event({ payload: 'x'.repeat(1024), contentType: 'text/plain' });
  const outcome = await d.deliver([event(), big, event()]);
  assert.equal(outcome.kind, 'reject');
  assert.equal(outcome.kind === 'reject' && outcome.code, 'destination_refused');
  assert.deepEqual(outcome.kind === 'reject' && outcome.failedIds, [big.id]);
  assert.match(outcome.kind === 'reject' ? outcome.error : '', /10054/);
  assert.equal(await s.count(), 2);
});

test('a server that cannot be reached is a retry', async (t) => {
  const d = destination(t, { servers: ['nats://127.0.0.1:1'], timeoutMs: 500 });
  const outcome = await d.deliver([event()]);
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_unreachable');
});

test('after close() a delivery is a retry and nothing is published', async (t) => {
  const s = await stream(t);
  const d = destination(t, { subject: `${s.prefix}.{type}` });
  await d.deliver([event()]);
  await d.close();
  const outcome = await d.deliver([event()]);
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_aborted');
  assert.equal(await s.count(), 1);
});
