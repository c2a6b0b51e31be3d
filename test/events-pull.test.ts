/**
 * Pull sources and brokers through the event hub (issue #6, Q9): a gateway's hub starts the pollers
 * and broker consumers with its pipeline as the intake, so what they read is deduplicated, stored and
 * queued for subscriptions like a webhook's events; reloads start and stop them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { connect, nanos } from 'nats';
import { loadConfigText } from '../src/config/loader.ts';
import { startEventHub } from '../src/events/index.ts';
import { quietServices, until } from '../src/events/pollers/testing.ts';
import { sqliteTarget } from '../src/store/testing.ts';

const NATS = process.env.JUNCTION_NATS_URL ?? 'nats://127.0.0.1:4222';

test('the hub polls an API and consumes a JetStream stream into its pipeline; reload stops the poller', async (t) => {
  // The stream first: after-hooks run in order, and the hub must close before the store and stream go.
  const nc = await connect({ servers: NATS });
  const jsm = await nc.jetstreamManager();
  const stream = `JUNCTION_HUB_${randomBytes(6).toString('hex')}`;
  await jsm.streams.add({
    name: stream,
    subjects: [`${stream.toLowerCase()}.>`],
    duplicate_window: nanos(1000),
  });
  t.after(async () => {
    await jsm.streams.delete(stream);
    await nc.close();
  });
  let polls = 0;
  const api = createServer((_req, res) => {
    polls++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end('{"orders":[{"id":"o1","v":1},{"id":"o2","v":1}]}');
  });
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');
  t.after(() => new Promise((resolve) => api.close(resolve)));
  const store = await (await sqliteTarget.setup(t)).openMigrated();

  const yaml = (withPoller: boolean) => `
events:
  pollers:
${
  withPoller
    ? `    partner:
      url: http://127.0.0.1:${(api.address() as AddressInfo).port}/orders
      intervalMs: 50
      items: /orders
      type: partner.order
      version: v`
    : '    {}'
}
  brokers:
    shop:
      type: nats
      url: ${NATS}
      stream: ${stream}
      consumer: junction
      eventType: shop.{subject}
  subscriptions:
    audit:
      destination: { type: http, url: 'https://audit.example/hook' }
      enabled: false
`;
  const services = quietServices();
  const hub = await startEventHub({
    loaded: loadConfigText(yaml(true), 'junction.yaml', {}),
    store,
    services,
  });
  t.after(() => hub.close());

  await nc
    .jetstream()
    .publish(`${stream.toLowerCase()}.paid`, Buffer.from('{"order":"o1"}'), { msgID: 'pay-1' });
  const list = async (source: string) => (await store.events.list({ source, limit: 100 })).items;
  await until(
    async () => (await list('partner')).length === 2 && (await list('shop')).length === 1,
    'both sources',
  );
  const [paid] = await list('shop');
  assert.equal(paid!.type, `shop.${stream.toLowerCase()}.paid`);
  assert.equal(paid!.externalId, 'pay-1');
  // Through the pipeline: each event is queued for the subscription.
  assert.equal((await store.deliveries.forEvent(paid!.id)).length, 1);
  const metrics = await services.metrics.registry.metrics();
  assert.match(metrics, /junction_poll_items_total\{source="partner",result="new"\} 2/);

  await hub.reload(loadConfigText(yaml(false), 'junction.yaml', {}));
  const after = polls;
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(polls, after, 'the removed poller stopped');
  assert.equal((await store.pollCursors.get('partner'))?.leaseOwner, null);
  // The broker consumer is untouched by the reload and goes on.
  await nc
    .jetstream()
    .publish(`${stream.toLowerCase()}.paid`, Buffer.from('{"order":"o2"}'), { msgID: 'pay-2' });
  await until(async () => (await list('shop')).length === 2, 'the second message');
});
