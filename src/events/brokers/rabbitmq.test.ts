import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'amqplib';
import { Value } from 'typebox/value';
import { startTcpProxy } from '../../../test/helpers/tcp-proxy.ts';
import { type EventsConfig, EventsSchema } from '../../config/events-schema.ts';
import { JunctionError } from '../../core/errors.ts';
import { sqliteTarget } from '../../store/testing.ts';
import { EventInvalid } from '../errors.ts';
import type { IncomingEvent } from '../pipeline.ts';
import { quietServices, storeIntake, until } from '../pollers/testing.ts';
import { type BrokerSources, startBrokerSources } from './index.ts';

const AMQP_URL = process.env.JUNCTION_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A durable queue of its own (random name), declared as the source declares it; deleted afterwards. */
async function queue(t: TestContext) {
  const conn = await connect(AMQP_URL);
  const ch = await conn.createChannel();
  const name = `junction.src.${randomBytes(6).toString('hex')}`;
  await ch.assertQueue(name, { durable: true });
  t.after(async () => {
    // On a channel of its own: a failed call in the test may have closed `ch`.
    const cleanup = await conn.createChannel();
    await cleanup.deleteQueue(name).catch(() => {});
    await conn.close();
  });
  const publish = (body: string, messageId?: string) =>
    ch.sendToQueue(name, Buffer.from(body), {
      persistent: true,
      contentType: 'application/json',
      headers: { 'x-trace': 't-1', attempt: 1 },
      ...(messageId ? { messageId } : {}),
    });
  /** The queue's state, or undefined while it does not exist (on a channel of its own: a 404 closes it). */
  const check = async () => {
    const probe = await conn.createChannel();
    probe.on('error', () => {});
    try {
      return await probe.checkQueue(name);
    } catch {
      return undefined;
    } finally {
      await probe.close().catch(() => {});
    }
  };
  return { name, ch, publish, check, ready: async () => (await check())?.messageCount };
}

async function setup(
  t: TestContext,
  options: { fail?: (e: IncomingEvent, call: number) => void; url?: string } = {},
) {
  // First, so it runs first: sources stop before the store and the queue they use go away.
  let sources: BrokerSources | undefined;
  t.after(() => sources?.close());
  const q = await queue(t);
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  const services = quietServices();
  const intake = storeIntake(store, services, options.fail);
  const config = Value.Default(EventsSchema, {}) as EventsConfig;
  config.brokers.shipping = {
    type: 'rabbitmq',
    url: options.url ?? AMQP_URL,
    queue: q.name,
    eventType: 'amqp.{routingKey}',
    prefetch: 10,
  };
  sources = startBrokerSources({ config: () => config, intake, services });
  const events = async () => (await store.events.list({ source: 'shipping', limit: 1000 })).items;
  return { ...q, store, services, intake, sources, events };
}

test('20 messages with two repeated messageIds are 18 events, every message acked', async (t) => {
  const s = await setup(t);
  for (let i = 1; i <= 18; i++) s.publish(`{"n":${i}}`, `ship-${i}`);
  s.publish('{"n":1}', 'ship-1');
  s.publish('{"n":2}', 'ship-2');
  await until(async () => (await s.events()).length === 18 && s.intake.calls.length === 20, '18 events');
  // Closing gives unacked messages back to the queue: none come back, so all were acked.
  await s.sources.close();
  assert.equal(await s.ready(), 0);
  const events = await s.events();
  assert.deepEqual(
    events.map((e) => e.externalId).sort(),
    Array.from({ length: 18 }, (_, i) => `ship-${i + 1}`).sort(),
  );
  const one = events.find((e) => e.externalId === 'ship-3')!;
  assert.equal(one.type, `amqp.${s.name}`, 'the default exchange routes by queue name');
  assert.equal(one.payload.toString(), '{"n":3}');
  assert.deepEqual(
    [
      one.headers['x-trace'],
      one.headers.attempt,
      one.headers['content-type'],
      one.headers['amqp-routing-key'],
    ],
    ['t-1', '1', 'application/json', s.name],
  );
  const metrics = await s.services.metrics.registry.metrics();
  assert.match(metrics, /junction_broker_messages_total\{source="shipping",result="new"\} 18/);
  assert.match(metrics, /junction_broker_messages_total\{source="shipping",result="duplicate"\} 2/);
});

test('a message the intake failed to store is requeued and stored once; a poison one is not requeued', async (t) => {
  const s = await setup(t, {
    fail: (e) => {
      if (e.externalId === 'poison') throw new JunctionError(EventInvalid, 'type too long');
      const seen = s.intake.calls.filter((c) => c.externalId === e.externalId).length;
      if (e.externalId === 'flaky' && seen === 1) throw new Error('database is locked');
    },
  });
  s.publish('{}', 'flaky');
  s.publish('{}', 'poison');
  await until(async () => (await s.events()).length === 1, 'the flaky event');
  assert.equal(s.intake.calls.filter((c) => c.externalId === 'flaky').length, 2);
  await sleep(300);
  assert.equal(s.intake.calls.filter((c) => c.externalId === 'poison').length, 1);
  await s.sources.close();
  assert.equal(await s.ready(), 0, 'nothing left in the queue');
});

test('consuming goes on after the connection is lost and after the queue is deleted', async (t) => {
  const proxy = await startTcpProxy(t, 5672);
  const s = await setup(t, { url: `amqp://guest:guest@127.0.0.1:${proxy.port}` });
  s.publish('{}', 'before');
  await until(async () => (await s.events()).length === 1, 'the first event');

  await proxy.stop();
  s.publish('{}', 'while-down');
  await proxy.start();
  await until(async () => (await s.events()).length === 2, 'the event sent while disconnected', 20_000);

  // The broker cancels the consumer of a deleted queue; the source declares it again and goes on.
  await s.ch.deleteQueue(s.name);
  await until(async () => (await s.check())?.consumerCount === 1, 'a new consumer');
  s.publish('{}', 'after-delete');
  await until(async () => (await s.events()).length === 3, 'the event after the queue came back');
});
