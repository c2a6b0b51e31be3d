/**
 * A running gateway delivers outbound webhook messages: the `webhooks:` block of junction.yaml reaches
 * the admin API (a loopback endpoint is accepted only because `allowHosts` names it) and the
 * endpoint resolver of the hub's delivery worker, which runs although `events.subscriptions` is
 * empty. The message arrives signed (checked with the independent `standardwebhooks` package), its
 * id as `webhook-id`, and the attempt is in the attempt log. The purge timer removes what was deleted.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { waitFor } from '../src/events/worker-testing.ts';
import { createWebhookClient, startPurgeTimer, WebhookApiError } from '../src/webhooks/index.ts';
import { startTestGateway } from './helpers/gateway.ts';

interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

async function customer(t: TestContext) {
  const hits: Hit[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    hits.push({ headers: req.headers, body });
    res.statusCode = 204;
    res.end();
  });
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, hits };
}

test('a running gateway delivers a sent message, signed, to the endpoint and logs the attempt', async (t) => {
  const gw = await startTestGateway(t, {
    webhooks: { allowHosts: ['127.0.0.1'] },
    events: { worker: { idlePollMs: 20 } },
  });
  const admin = createWebhookClient({ baseUrl: gw.gateway.adminUrl, token: gw.gateway.adminToken });
  const receiver = await customer(t);
  await admin.createEventType({ name: 'order.created' });
  const app = await admin.createApp({ name: 'Shop' });
  const ep = await admin.createEndpoint(app.id, { url: receiver.url });
  const { key } = await admin.endpointSecret(app.id, ep.id);

  const sent = await admin.send(app.id, { event_type: 'order.created', payload: { id: 'o1', total: 12 } });
  const hit = await waitFor('the delivery', () => receiver.hits[0]);
  assert.deepEqual(new Webhook(key).verify(hit.body, hit.headers as Record<string, string>), {
    id: 'o1',
    total: 12,
  });
  assert.equal(hit.headers['webhook-id'], sent.id);

  const attempt = await waitFor('the attempt in the log', async () => {
    const page = await admin.listAttempts(app.id, { message_id: sent.id, endpoint_id: ep.id });
    return page.data[0];
  });
  assert.equal(attempt.status, 'succeeded');
  assert.equal(attempt.response_status, 204);
  const detail = await waitFor('the delivery done', async () => {
    const m = await admin.getMessage(app.id, sent.id);
    return m.deliveries.every((d) => d.status === 'done') ? m : undefined;
  });
  assert.deepEqual(
    detail.deliveries.map((d) => d.endpoint_id),
    [ep.id],
  );
});

test('without allowHosts the admin API of a gateway refuses a loopback endpoint', async (t) => {
  const gw = await startTestGateway(t, {});
  const admin = createWebhookClient({ baseUrl: gw.gateway.adminUrl, token: gw.gateway.adminToken });
  const app = await admin.createApp({ name: 'Shop' });
  await assert.rejects(
    admin.createEndpoint(app.id, { url: 'http://127.0.0.1:9/hooks' }),
    (err: unknown) => err instanceof WebhookApiError && err.code === 'webhook_url_forbidden',
  );
});

test('the purge timer removes applications deleted longer ago than deletedRetentionMs', async (t) => {
  const gw = await startTestGateway(t, {});
  const admin = createWebhookClient({ baseUrl: gw.gateway.adminUrl, token: gw.gateway.adminToken });
  const app = await admin.createApp({ name: 'Gone' });
  await admin.deleteApp(app.id);
  const purge = startPurgeTimer(
    gw.gateway.store,
    () => ({ deletedRetentionMs: 0, payloadRetentionMs: 86_400_000 }),
    gw.gateway.services.logger,
    20,
  );
  t.after(() => purge.stop());
  await waitFor('the purge', async () =>
    (await gw.gateway.store.webhooks.apps.get(app.id, { deleted: true })) === undefined ? true : undefined,
  );
});
