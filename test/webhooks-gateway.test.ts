/**
 * A running gateway delivers outbound webhook messages: the `webhooks:` block of junction.yaml reaches
 * the admin API (a loopback endpoint is accepted only because `allowHosts` names it) and the
 * endpoint resolver of the hub's delivery worker, which runs although `events.subscriptions` is
 * empty. The message arrives signed (checked with the independent `standardwebhooks` package), its
 * id as `webhook-id`, and the attempt is in the attempt log. The purge timer removes what was deleted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { waitFor } from '../src/events/worker-testing.ts';
import {
  createWebhookClient,
  LOCAL_KEY_FILE,
  startPurgeTimer,
  WebhookApiError,
} from '../src/webhooks/index.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { startReceiver } from './helpers/receiver.ts';

test('a running gateway delivers a sent message, signed, to the endpoint and logs the attempt', async (t) => {
  const gw = await startTestGateway(t, {
    webhooks: { allowHosts: ['127.0.0.1'] },
    events: { worker: { idlePollMs: 20 } },
  });
  const admin = createWebhookClient({ baseUrl: gw.gateway.adminUrl, token: gw.gateway.adminToken });
  const receiver = await startReceiver(t);
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

test('a sent message wakes the delivery worker: it goes out without waiting for the next poll', async (t) => {
  // A poll every 10 minutes: only the wake-up of the send can explain a delivery within the wait.
  const gw = await startTestGateway(t, {
    webhooks: { allowHosts: ['127.0.0.1'] },
    events: { worker: { idlePollMs: 600_000 } },
  });
  const admin = createWebhookClient({ baseUrl: gw.gateway.adminUrl, token: gw.gateway.adminToken });
  const receiver = await startReceiver(t);
  await admin.createEventType({ name: 'ping' });
  const app = await admin.createApp({ name: 'Awake' });
  await admin.createEndpoint(app.id, { url: receiver.url });
  // The idle worker sleeps in its first pause once no live endpoint is found; send after that.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const sent = await admin.send(app.id, { event_type: 'ping', payload: { n: 1 } });
  const hit = await waitFor('the delivery', () => receiver.hits[0]);
  assert.equal(hit.headers['webhook-id'], sent.id);
});

test('an embedded gateway seals endpoint secrets with its own key file and syncs every commit', async (t) => {
  const gw = await startTestGateway(t, { webhooks: { allowHosts: ['127.0.0.1'] } });
  const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(gw.gateway.store.db);
  assert.equal(rows[0]?.synchronous, 2, 'FULL without any event source: sends are acknowledged too');
  const admin = createWebhookClient({ baseUrl: gw.gateway.adminUrl, token: gw.gateway.adminToken });
  const app = await admin.createApp({ name: 'Sealed' });
  const ep = await admin.createEndpoint(app.id, { url: 'http://127.0.0.1:9/h' });
  const { key } = await admin.endpointSecret(app.id, ep.id);
  const stored = await gw.gateway.store.webhooks.endpoints.byId(ep.id);
  assert.match(stored?.secret ?? '', /^enc:0\./, 'sealed with the key file (version 0)');
  const file = join(gw.dir, LOCAL_KEY_FILE);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the key file is readable by its owner only');
  const fileKey = readFileSync(file, 'utf8').trim();
  assert.ok(!(stored?.secret ?? '').includes(key.slice(6)));

  // A key configured later: new seals use it, the file key still opens what it sealed.
  const configured = randomBytes(32).toString('base64');
  gw.writeConfig({ webhooks: { allowHosts: ['127.0.0.1'], encryptionKey: configured } });
  assert.equal((await gw.gateway.reload('test')).status, 'applied');
  assert.equal((await admin.endpointSecret(app.id, ep.id)).key, key);
  const rotated = await admin.rotateSecret(app.id, ep.id, {});
  assert.match((await gw.gateway.store.webhooks.endpoints.byId(ep.id))?.secret ?? '', /^enc:1\./);
  assert.equal((await admin.endpointSecret(app.id, ep.id)).previous[0]?.key, key);
  assert.equal(readFileSync(file, 'utf8').trim(), fileKey, 'the file is kept');
  assert.match(rotated.key, /^whsec_/);
});
