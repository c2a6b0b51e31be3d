import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, nanos, headers as natsHeaders } from 'nats';
import { Value } from 'typebox/value';
import type { EventsConfig } from '../../config/events-schema.ts';
import { EventsSchema } from '../../config/events-schema.ts';
import { JunctionError } from '../../core/errors.ts';
import { sqliteTarget } from '../../store/testing.ts';
import { EventInvalid } from '../errors.ts';
import type { IncomingEvent } from '../pipeline.ts';
import { quietServices, storeIntake, until } from '../pollers/testing.ts';
import { type BrokerSources, startBrokerSources } from './index.ts';

const SERVER = process.env.JUNCTION_NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * A stream of its own (random name) whose duplicate window is 100 ms, so a publisher's repeat sent
 * later reaches the stream and the source's dedupe is what drops it. Deleted after the test.
 */
async function stream(t: TestContext) {
  const nc = await connect({ servers: SERVER });
  const jsm = await nc.jetstreamManager();
  const name = `JUNCTION_SRC_${randomBytes(6).toString('hex')}`;
  const prefix = name.toLowerCase();
  await jsm.streams.add({ name, subjects: [`${prefix}.>`], duplicate_window: nanos(100) });
  t.after(async () => {
    await jsm.streams.delete(name);
    await nc.close();
  });
  const js = nc.jetstream();
  const publish = (subject: string, body: string, msgId?: string) => {
    const h = natsHeaders();
    h.set('x-trace', 't-1');
    return js.publish(`${prefix}.${subject}`, Buffer.from(body), {
      headers: h,
      ...(msgId ? { msgID: msgId } : {}),
    });
  };
  const consumer = (durable: string) => jsm.consumers.info(name, durable);
  return {
    name,
    prefix,
    publish,
    consumer,
    deleteConsumer: (durable: string) => jsm.consumers.delete(name, durable),
  };
}

async function setup(t: TestContext, fail?: (e: IncomingEvent, call: number) => void) {
  // First, so it runs first: sources stop before the store and the stream they use go away.
  let sources: BrokerSources | undefined;
  t.after(() => sources?.close());
  const s = await stream(t);
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  const services = quietServices();
  const intake = storeIntake(store, services, fail);
  const durable = `junction_${randomBytes(4).toString('hex')}`;
  const config = Value.Default(EventsSchema, {}) as EventsConfig;
  config.brokers.orders = {
    type: 'nats',
    url: SERVER,
    stream: s.name,
    consumer: durable,
    eventType: 'nats.{subject}',
  };
  sources = startBrokerSources({ config: () => config, intake, services });
  const events = async () => (await store.events.list({ source: 'orders', limit: 1000 })).items;
  const settled = async () => {
    const info = await s.consumer(durable).catch(() => undefined);
    return info !== undefined && info.num_pending === 0 && info.num_ack_pending === 0;
  };
  return { ...s, store, services, intake, durable, sources, events, settled };
}

test('20 messages with two repeated Nats-Msg-Ids are 18 events, every message acked', async (t) => {
  const s = await setup(t);
  for (let i = 1; i <= 18; i++) await s.publish(i % 2 ? 'created' : 'paid', `{"n":${i}}`, `order-${i}`);
  // The repeats must get past the stream's 100 ms duplicate window, which the server ages out on a
  // timer of its own: a fixed pause can end before that timer has run on a loaded machine. The
  // stream's ack says whether it dropped a repeat (nothing stored then), so publish until it keeps it.
  const repeat = async (subject: string, body: string, id: string) => {
    for (let i = 0; (await s.publish(subject, body, id)).duplicate; i++) {
      assert.ok(i < 200, `the stream still drops ${id} as a duplicate`);
      await sleep(50);
    }
  };
  await sleep(150);
  await repeat('created', '{"n":1}', 'order-1');
  await repeat('paid', '{"n":2}', 'order-2');

  await until(async () => (await s.events()).length === 18 && s.intake.calls.length === 20, '18 events');
  await until(s.settled, 'no pending or unacked message on the consumer');
  const events = await s.events();
  assert.deepEqual(
    events.map((e) => e.externalId).sort(),
    Array.from({ length: 18 }, (_, i) => `order-${i + 1}`).sort(),
  );
  const one = events.find((e) => e.externalId === 'order-2')!;
  assert.equal(one.type, `nats.${s.prefix}.paid`);
  assert.equal(one.payload.toString(), '{"n":2}');
  assert.equal(one.headers['x-trace'], 't-1');
  assert.equal(one.headers['nats-subject'], `${s.prefix}.paid`);
  const metrics = await s.services.metrics.registry.metrics();
  assert.match(metrics, /junction_broker_messages_total\{source="orders",result="new"\} 18/);
  assert.match(metrics, /junction_broker_messages_total\{source="orders",result="duplicate"\} 2/);
});

test('a message the intake failed to store is redelivered later and stored once', async (t) => {
  const s = await setup(t, (e) => {
    const failed = s.intake.calls.filter((c) => c.externalId === e.externalId).length;
    if (e.externalId === 'flaky' && failed === 1) throw new Error('database is locked');
  });
  await s.publish('created', '{"n":1}', 'flaky');
  await s.publish('created', '{"n":2}'); // no Nats-Msg-Id: keyed by its place in the stream
  await until(async () => (await s.events()).length === 2, 'both events');
  await until(s.settled, 'everything acked');
  assert.equal(s.intake.calls.filter((c) => c.externalId === 'flaky').length, 2, 'delivered twice');
  const ids = (await s.events()).map((e) => e.externalId);
  assert.ok(ids.includes('flaky'));
  assert.ok(
    ids.some((id) => id?.startsWith(`${s.name}#2@`)),
    `stream place as id: ${ids.join(', ')}`,
  );
  assert.match(await s.services.metrics.registry.metrics(), /result="retried"\} 1/);
});

test('a message that can never be stored is terminated, not redelivered forever', async (t) => {
  const s = await setup(t, (e) => {
    if (e.externalId === 'poison') throw new JunctionError(EventInvalid, 'type too long');
  });
  await s.publish('created', 'x', 'poison');
  await s.publish('created', 'y', 'fine');
  await until(async () => (await s.events()).length === 1, 'the good event');
  await until(s.settled, 'nothing pending');
  await sleep(300);
  assert.equal(s.intake.calls.filter((c) => c.externalId === 'poison').length, 1);
  assert.match(await s.services.metrics.registry.metrics(), /result="rejected"\} 1/);
});

test('two nodes share the durable consumer: each message is stored by one of them', async (t) => {
  const s = await setup(t);
  const services = quietServices(2);
  const second = storeIntake(s.store, services);
  const config = Value.Default(EventsSchema, {}) as EventsConfig;
  config.brokers.orders = {
    type: 'nats',
    url: SERVER,
    stream: s.name,
    consumer: s.durable,
    eventType: '{subject}',
  };
  const other = startBrokerSources({ config: () => config, intake: second, services });
  t.after(() => other.close());
  for (let i = 1; i <= 40; i++) await s.publish('created', `{"n":${i}}`, `m-${i}`);
  await until(async () => (await s.events()).length === 40, '40 events');
  await until(s.settled, 'everything acked');
  assert.equal(s.intake.calls.length + second.calls.length, 40, 'no message went to both nodes');
});

test('a consumer deleted while consuming is created again', async (t) => {
  const s = await setup(t);
  await s.publish('created', '{}', 'first');
  await until(async () => (await s.events()).length === 1, 'the first event');
  await s.deleteConsumer(s.durable);
  await s.publish('created', '{}', 'second');
  await until(async () => (await s.events()).length === 2, 'the event after the consumer came back', 20_000);
});
