import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Channel, type ConsumeMessage, connect } from 'amqplib';
import { startTcpProxy } from '../../../test/helpers/tcp-proxy.ts';
import { createRabbitMqDestination } from './rabbitmq.ts';
import type { RabbitMqDestinationConfig } from './schema.ts';
import type { OutgoingEvent } from './types.ts';

const URL = process.env.JUNCTION_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * A topic exchange of its own (random name) with a temporary queue bound for `order.*`; the
 * messages that reach the queue are collected in `messages`. All deleted afterwards.
 */
async function broker(t: TestContext, options: { create?: boolean } = {}) {
  const conn = await connect(URL);
  const ch: Channel = await conn.createChannel();
  const exchange = `junction.test.${randomBytes(6).toString('hex')}`;
  const messages: ConsumeMessage[] = [];
  // One hook, in this order: node:test runs after-hooks in the order they were added.
  t.after(async () => {
    await ch.deleteExchange(exchange).catch(() => {});
    await conn.close();
  });
  const bind = async () => {
    await ch.assertExchange(exchange, 'topic', { durable: false });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, exchange, 'order.*');
    await ch.consume(queue, (m) => m && messages.push(m), { noAck: true });
  };
  if (options.create !== false) await bind();
  // Waits up to 10 s (not 100 polls, about 2 s): the broker is a process of its own, slow to push on
  // a loaded machine; the wait ends as soon as the messages are there.
  const received = async (n: number) => {
    for (const until = Date.now() + 10_000; messages.length < n && Date.now() < until; ) await sleep(20);
    return messages;
  };
  return { exchange, bind, received };
}

function destination(t: TestContext, config: Partial<RabbitMqDestinationConfig> & { exchange: string }) {
  const d = createRabbitMqDestination({
    type: 'rabbitmq',
    url: URL,
    routingKey: '{type}',
    mandatory: true,
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
    id: `evt_AMQP${randomBytes(4).toString('hex')}${seq}`,
    source: 'shop',
    type: 'order.created',
    receivedAt: Date.UTC(2026, 2, 1, 12, 0, 0),
    payload: JSON.stringify({ order: seq }),
    contentType: 'application/json',
    ...overrides,
  };
}

test('an event is published persistent, with messageId = event id, and confirmed', async (t) => {
  const b = await broker(t);
  const d = destination(t, { exchange: b.exchange });
  const e = event();
  const outcome = await d.deliver([e]);
  assert.equal(outcome.kind, 'delivered');
  const [m] = await b.received(1);
  assert.equal(m!.fields.routingKey, 'order.created');
  assert.equal(m!.properties.messageId, e.id);
  assert.equal(m!.properties.deliveryMode, 2);
  assert.equal(m!.properties.contentType, 'application/json');
  assert.equal(m!.properties.type, 'order.created');
  assert.equal(m!.properties.timestamp, Date.UTC(2026, 2, 1, 12, 0, 0) / 1000);
  assert.equal(m!.properties.headers?.['x-junction-source'], 'shop');
  assert.equal(m!.content.toString(), e.payload);
});

test('a batch is one message per event, all confirmed', async (t) => {
  const b = await broker(t);
  const d = destination(t, { exchange: b.exchange, routingKey: 'order.{source}' });
  const events = [event(), event(), event({ payload: Uint8Array.from([1, 2, 3]) })];
  assert.equal((await d.deliver(events)).kind, 'delivered');
  const got = await b.received(3);
  assert.deepEqual(got.map((m) => m.properties.messageId).sort(), events.map((e) => e.id).sort());
  assert.deepEqual([...got.find((m) => m.properties.messageId === events[2]!.id)!.content], [1, 2, 3]);
});

test('a message no queue is bound for is retried (mandatory), or dropped as delivered without it', async (t) => {
  const b = await broker(t);
  const strict = destination(t, { exchange: b.exchange });
  const lax = destination(t, { exchange: b.exchange, mandatory: false });
  const unbound = event({ type: 'invoice.sent' });
  const outcome = await strict.deliver([event(), unbound]);
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_unroutable');
  assert.deepEqual(outcome.kind === 'retry' && outcome.failedIds, [unbound.id]);
  assert.equal((await lax.deliver([unbound])).kind, 'delivered');
});

test('a missing exchange is a retry, and delivery works once it exists', async (t) => {
  const b = await broker(t, { create: false });
  const d = destination(t, { exchange: b.exchange });
  const first = await d.deliver([event()]);
  assert.equal(first.kind, 'retry');
  assert.equal(first.kind === 'retry' && first.code, 'destination_unroutable');
  assert.match(first.kind === 'retry' ? first.error : '', /NOT_FOUND/);
  await b.bind();
  assert.equal((await d.deliver([event()])).kind, 'delivered');
  assert.equal((await b.received(1)).length, 1);
});

test('after the connection is lost, deliveries are retried until it is back, then go through', async (t) => {
  const b = await broker(t);
  const proxy = await startTcpProxy(t, 5672);
  const d = destination(t, {
    exchange: b.exchange,
    url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
    timeoutMs: 300,
  });
  assert.equal((await d.deliver([event()])).kind, 'delivered');
  await proxy.stop();
  const during = await d.deliver([event()]);
  assert.equal(during.kind, 'retry');
  assert.equal(during.kind === 'retry' && during.code, 'destination_unreachable');
  await proxy.start();
  let after = await d.deliver([event()]);
  for (let i = 0; i < 50 && after.kind !== 'delivered'; i++) {
    await sleep(100);
    after = await d.deliver([event()]);
  }
  assert.equal(after.kind, 'delivered');
  await d.close(); // while connected; after the proxy's own after-hook cut it, close would wait its bound
});

test('a broker that cannot be reached is a retry within timeoutMs', async (t) => {
  const d = destination(t, { exchange: 'x', url: 'amqp://guest:guest@127.0.0.1:1', timeoutMs: 200 });
  const outcome = await d.deliver([event()]);
  assert.equal(outcome.kind, 'retry');
  assert.equal(outcome.kind === 'retry' && outcome.code, 'destination_unreachable');
  assert.match(outcome.kind === 'retry' ? outcome.error : '', /ECONNREFUSED/);
  assert.doesNotMatch(outcome.kind === 'retry' ? outcome.error : '', /guest:guest/);
});

test('a routing key longer than AMQP allows is rejected without publishing', async (t) => {
  const b = await broker(t);
  const d = destination(t, { exchange: b.exchange });
  const outcome = await d.deliver([event({ type: `order.${'x'.repeat(300)}` })]);
  assert.equal(outcome.kind === 'reject' && outcome.code, 'destination_event_invalid');
});
