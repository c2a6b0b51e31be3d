/**
 * Outbound webhook messages actually go out: the event hub's delivery worker resolves `ep:<id>`
 * deliveries to the endpoint's URL, signs them with every current secret (checked with the
 * independent `standardwebhooks` package), sends the message id as `webhook-id`, and logs attempts.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startEndpointWorker, startWebhookApi } from '../src/admin/routes/webhooks-testing.ts';
import { waitFor } from '../src/events/worker-testing.ts';
import { targets } from '../src/store/testing.ts';
import { createEndpointResolver } from '../src/webhooks/index.ts';
import { type Hit, startReceiver } from './helpers/receiver.ts';

/** A receiver answering `status` (default 204), with a problem body when it refuses. */
const customer = (t: TestContext, status = 204) =>
  startReceiver(t, (res) => {
    res.statusCode = status;
    res.end(status >= 400 ? '{"error":"nope"}' : '');
  });

const verify = (secret: string, hit: Hit) =>
  new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>) as unknown;

for (const target of targets) {
  describe(`outbound webhook delivery on ${target.dialect}`, () => {
    test('messages are delivered signed, with the message id as webhook-id, also during a secret rotation', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const receiver = await customer(t);
      const refusing = await customer(t, 400);
      await admin.createEventType({ name: 'order.created' });
      const app = await admin.createApp({ name: 'Shop' });
      const ep = await admin.createEndpoint(app.id, { url: receiver.url, headers: { 'x-tenant': 'shop' } });
      const bad = await admin.createEndpoint(app.id, { url: refusing.url });
      const { key: oldKey } = await admin.endpointSecret(app.id, ep.id);

      startEndpointWorker(t, api);

      const sent = await admin.send(app.id, {
        event_type: 'order.created',
        payload: { id: 'o1', total: 12 },
      });
      const first = await waitFor('the first delivery', () => receiver.hits[0]);
      assert.deepEqual(verify(oldKey, first), { id: 'o1', total: 12 });
      assert.equal(first.headers['webhook-id'], sent.id);
      assert.equal(first.headers['x-tenant'], 'shop');
      assert.equal(first.headers['content-type'], 'application/json');

      const rotated = await admin.rotateSecret(app.id, ep.id, { grace_ms: 3_600_000 });
      assert.equal(rotated.previous[0]?.key, oldKey);
      // The resolver trusts an endpoint row for a few seconds; a new one sees the rotation at once.
      const fresh = createEndpointResolver({
        store: api.store,
        services: api.services,
        settings: () => api.settings,
      });
      t.after(() => fresh.close());
      const resolved = await fresh.resolve(`ep:${ep.id}`, new AbortController().signal);
      assert.ok(resolved !== undefined && resolved !== 'paused');
      const outcome = await resolved.send({
        id: `evt_${sent.id.slice(4)}`,
        source: `app:${app.id}`,
        type: 'order.created',
        receivedAt: Date.now(),
        payload: '{"id":"o1","total":12}',
        contentType: 'application/json',
      });
      assert.equal(outcome.kind, 'delivered');
      const during = receiver.hits.at(-1)!;
      assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
      verify(oldKey, during);
      verify(rotated.key, during);

      const dead = await waitFor('the refused delivery in the attempt log', async () => {
        const page = await admin.listAttempts(app.id, { endpoint_id: bad.id });
        return page.data[0];
      });
      assert.equal(dead.status, 'failed');
      assert.equal(dead.response_status, 400);
      assert.match(dead.error ?? '', /HTTP 400/);
      const ok = await admin.listAttempts(app.id, { message_id: sent.id, endpoint_id: ep.id });
      assert.equal(ok.data[0]?.status, 'succeeded');
      const detail = await admin.getMessage(app.id, sent.id);
      assert.deepEqual(Object.fromEntries(detail.deliveries.map((d) => [d.endpoint_id, d.status])), {
        [ep.id]: 'done',
        [bad.id]: 'dead',
      });
    });

    test('a deleted endpoint pauses its deliveries and a restore resumes them', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const receiver = await customer(t);
      await admin.createEventType({ name: 'ping' });
      const app = await admin.createApp({ name: 'Shop' });
      const ep = await admin.createEndpoint(app.id, { url: receiver.url });
      const sent = await admin.send(app.id, { event_type: 'ping', payload: { n: 1 } });
      await admin.deleteEndpoint(app.id, ep.id);

      const resolver = createEndpointResolver({
        store: api.store,
        services: api.services,
        settings: () => api.settings,
      });
      assert.equal(await resolver.resolve(`ep:${ep.id}`, new AbortController().signal), 'paused');
      assert.equal(await resolver.resolve('ep:ep_0000000000000', new AbortController().signal), undefined);
      await resolver.close();

      const fresh = () =>
        createEndpointResolver({ store: api.store, services: api.services, settings: () => api.settings });
      let current = fresh();
      // The worker's resolver is swapped for a fresh one at the restore, past the row cache.
      startEndpointWorker(t, api, {
        resolver: {
          handles: (s) => current.handles(s),
          resolve: (s, signal) => current.resolve(s, signal),
          close: () => current.close(),
        },
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(receiver.hits.length, 0, 'nothing sent while deleted');
      // The running worker claims the paused delivery on every recheck (50 ms) and gives it back
      // unsent, so a single look can land on `leased`. Every look must find it unsent with no attempt
      // counted, and one must find it back in the queue.
      await waitFor('the paused delivery back in the queue', async () => {
        const [d] = (await admin.getMessage(app.id, sent.id)).deliveries;
        assert.ok(d?.status === 'pending' || d?.status === 'leased', `status ${d?.status}`);
        assert.equal(d.attempts, 0, 'waiting, no attempt counted');
        return d.status === 'pending';
      });

      await admin.restoreEndpoint(app.id, ep.id);
      const old = current;
      current = fresh();
      await old.close();
      const hit = await waitFor('the delivery after the restore', () => receiver.hits[0]);
      assert.equal(hit.headers['webhook-id'], sent.id);
    });
  });
}
