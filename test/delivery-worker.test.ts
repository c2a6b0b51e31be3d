/**
 * The delivery worker end to end: two nodes sharing one PostgreSQL queue deliver every event once, and
 * events reach NATS JetStream and RabbitMQ through the worker. Each test has its own schema, stream
 * or exchange.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as amqp, type ConsumeMessage } from 'amqplib';
import { connect as nats } from 'nats';
import type { EventsConfig } from '../src/config/events-schema.ts';
import type { Services } from '../src/core/services.ts';
import { startDeliveryWorker } from '../src/events/worker.ts';
import {
  appendEvents,
  eventsConfig,
  quietServices,
  receiver,
  waitFor,
} from '../src/events/worker-testing.ts';
import type { Store } from '../src/store/index.ts';
import { postgresTarget, sqliteTarget } from '../src/store/testing.ts';
import { startTestGateway } from './helpers/gateway.ts';

const NATS_URL = process.env.JUNCTION_NATS_URL ?? 'nats://127.0.0.1:4222';
const AMQP_URL = process.env.JUNCTION_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

function run(t: TestContext, store: Store, services: Services, owner: string, config: EventsConfig) {
  const worker = startDeliveryWorker({ config: () => config, store, services, owner });
  t.after(() => worker.close());
  return worker;
}

const delivered = (services: Services) =>
  services.metrics.registry
    .getSingleMetricAsString('junction_deliveries_total')
    .then((text) => Number(/outcome="delivered"\} (\d+)/.exec(text)?.[1] ?? 0));

test('two workers on one PostgreSQL queue deliver 100 events, each exactly once', async (t) => {
  const site = await postgresTarget.setup(t);
  const a = await site.openMigrated();
  const b = await site.open();
  // A few milliseconds per request, so both workers have claims in flight at once.
  const endpoint = await receiver(t, () => sleep(3).then(() => 200));
  const config = eventsConfig({
    subscriptions: {
      orders: { destination: { type: 'http', url: endpoint.url, allowPrivateNetworks: true } },
    },
    worker: { concurrency: 8, idlePollMs: 20 },
  });
  const services = [quietServices(1), quietServices(2)];
  const queued = await appendEvents(a, services[0]!.ids, 100, ['orders']);
  run(t, a, services[0]!, 'node-1:w', config);
  run(t, b, services[1]!, 'node-2:w', config);

  await waitFor('100 done', async () => (await a.deliveries.count('done', 1000)) === 100);
  assert.equal(endpoint.counts.size, 100, 'every event arrived');
  assert.deepEqual(
    [...endpoint.counts.values()].filter((n) => n !== 1),
    [],
    'no event arrived twice',
  );
  assert.deepEqual([...endpoint.counts.keys()].sort(), queued.map((d) => d.eventId).sort());
  const [byA, byB] = await Promise.all(services.map(delivered));
  assert.equal(byA! + byB!, 100);
  assert.ok(byA! > 0 && byB! > 0, `the work was shared: ${byA} and ${byB}`);
});

test('the worker publishes events to NATS JetStream with the event id as Nats-Msg-Id', async (t) => {
  const nc = await nats({ servers: NATS_URL });
  const jsm = await nc.jetstreamManager();
  const name = `JUNCTION_W2_${randomBytes(6).toString('hex')}`;
  const prefix = name.toLowerCase();
  await jsm.streams.add({ name, subjects: [`${prefix}.>`] });
  t.after(async () => {
    await jsm.streams.delete(name);
    await nc.close();
  });
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  const services = quietServices();
  const config = eventsConfig({
    subscriptions: {
      stream: { destination: { type: 'nats', servers: [NATS_URL], subject: `${prefix}.{type}` } },
    },
    worker: { idlePollMs: 20 },
  });
  const queued = await appendEvents(store, services.ids, 3, ['stream']);
  run(t, store, services, 'w', config);
  await waitFor('3 done', async () => (await store.deliveries.count('done', 10)) === 3);
  assert.equal((await jsm.streams.info(name)).state.messages, 3);
  const ids = await Promise.all(
    [1, 2, 3].map(async (seq) => (await jsm.streams.getMessage(name, { seq })).header.get('Nats-Msg-Id')),
  );
  assert.deepEqual(ids.sort(), queued.map((d) => d.eventId).sort());
  const first = await jsm.streams.getMessage(name, { seq: 1 });
  assert.equal(first.subject, `${prefix}.order.created`);
});

test('the worker publishes events to a RabbitMQ exchange, persistent, with the event id as messageId', async (t) => {
  const conn = await amqp(AMQP_URL);
  const ch = await conn.createChannel();
  const exchange = `junction.w2.${randomBytes(6).toString('hex')}`;
  t.after(async () => {
    await ch.deleteExchange(exchange).catch(() => {});
    await conn.close();
  });
  await ch.assertExchange(exchange, 'topic', { durable: false });
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(queue, exchange, 'order.*');
  const messages: ConsumeMessage[] = [];
  await ch.consume(queue, (m) => m && messages.push(m), { noAck: true });

  const store = await (await sqliteTarget.setup(t)).openMigrated();
  const services = quietServices();
  const config = eventsConfig({
    subscriptions: { broker: { destination: { type: 'rabbitmq', url: AMQP_URL, exchange } } },
    worker: { idlePollMs: 20 },
  });
  const queued = await appendEvents(store, services.ids, 3, ['broker']);
  run(t, store, services, 'w', config);
  await waitFor('3 done', async () => (await store.deliveries.count('done', 10)) === 3);
  await waitFor('3 consumed', () => messages.length === 3);
  assert.deepEqual(messages.map((m) => m.properties.messageId).sort(), queued.map((d) => d.eventId).sort());
  assert.ok(
    messages.every((m) => m.properties.deliveryMode === 2 && m.fields.routingKey === 'order.created'),
  );
});

test("a gateway's event hub runs the worker: a 400 is dead, replayed through the admin API it is delivered", async (t) => {
  let accept = false;
  const endpoint = await receiver(t, () => (accept ? 204 : 400));
  const gw = await startTestGateway(t, {
    events: {
      subscriptions: {
        orders: { destination: { type: 'http', url: endpoint.url, allowPrivateNetworks: true } },
      },
      worker: { idlePollMs: 20 },
    },
    routes: [{ name: 'hello', match: { path: '/hello' }, respond: { status: 200, body: 'hi' } }],
  });
  const { store, services } = gw.gateway;
  const [d] = await appendEvents(store, services.ids, 1, ['orders']);
  await waitFor('dead', async () => (await store.deliveries.get(d!.id))?.status === 'dead');
  accept = true;
  const res = await fetch(gw.adminUrl(`/admin/v1/deliveries/${d!.id}/replay`), {
    method: 'POST',
    headers: gw.auth,
  });
  assert.equal(res.status, 200);
  await waitFor('done', async () => (await store.deliveries.get(d!.id))?.status === 'done');
  assert.equal(endpoint.requests.length, 2);
});
