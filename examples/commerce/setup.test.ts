/**
 * The demo's outbound webhook wiring against a real gateway (SQLite): setupAcme is idempotent across
 * restarts and puts right what drifted; the orders publisher waits for its connection, sends each
 * event once (event_id and Idempotency-Key), keeps the first message of an event derived again with
 * other details, and reports a refusal.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { createWebhookClient, WebhookApiError } from '../../src/webhooks/index.ts';
import { startTestGateway } from '../../test/helpers/gateway.ts';
import { orderPublisher } from './publisher.ts';
import type { OrderEvent } from './services/orders.ts';
import { ACME_APP_UID, ACME_ENDPOINT_UID, ORDER_EVENT_TYPES, setupAcme } from './setup.ts';

const OPERATOR_TOKEN = 'setup-test-operator-token';

async function gateway(t: TestContext) {
  const gw = await startTestGateway(t, {
    webhooks: { allowHosts: ['127.0.0.1'] },
    admin: {
      token: 'test-admin-token-0123456789',
      tokens: [{ name: 'orders', role: 'operator', token: OPERATOR_TOKEN }],
    },
  });
  const client = (token: string) => createWebhookClient({ baseUrl: gw.gateway.adminUrl, token });
  return { admin: client(gw.gateway.adminToken), operator: client(OPERATOR_TOKEN) };
}

const created = (orderId: string, userId = 'usr_ada'): OrderEvent => ({
  type: 'order.created',
  id: `${orderId}-created`,
  payload: {
    id: orderId,
    userId,
    items: [{ productId: 'prd_mug', quantity: 1 }],
    createdAt: '2026-11-25T10:00:00.000Z',
  },
});

test('setupAcme makes the event types, the application and its endpoint once, and puts right what drifted', async (t) => {
  const { admin } = await gateway(t);
  // A type someone made by hand, without a schema: it gets the demo's.
  await admin.createEventType({ name: 'order.shipped' });

  const first = await setupAcme(admin, 'http://127.0.0.1:9111/webhooks');
  assert.match(first.secret, /^whsec_/);
  for (const { name } of ORDER_EVENT_TYPES) assert.equal((await admin.getEventType(name)).version, 1, name);
  assert.equal(first.endpoint.uid, ACME_ENDPOINT_UID);
  assert.deepEqual(first.endpoint.filter_types, ['order.created', 'order.shipped']);
  assert.equal((await admin.getApp(ACME_APP_UID)).id, first.appId);

  // A restart: nothing new; the same secret.
  const again = await setupAcme(admin, 'http://127.0.0.1:9111/webhooks');
  assert.deepEqual(
    [again.appId, again.endpoint.id, again.secret],
    [first.appId, first.endpoint.id, first.secret],
  );
  assert.equal((await admin.listApps()).data.length, 1);
  assert.equal((await admin.listEndpoints(first.appId)).data.length, 1);

  // Drift: disabled by a 410, filter narrowed, and the receiver on another port now.
  await admin.updateEndpoint(first.appId, first.endpoint.id, {
    disabled: true,
    filter_types: ['order.created'],
  });
  const moved = await setupAcme(admin, 'http://127.0.0.1:9222/webhooks');
  assert.equal(moved.endpoint.id, first.endpoint.id);
  assert.equal(moved.endpoint.url, 'http://127.0.0.1:9222/webhooks');
  assert.equal(moved.endpoint.disabled, false);
  assert.deepEqual(moved.endpoint.filter_types, ['order.created', 'order.shipped']);
});

test('the publisher holds events until connected, then sends each once with the operator token', async (t) => {
  const { admin, operator } = await gateway(t);
  await setupAcme(admin, 'http://127.0.0.1:9111/webhooks');
  const lines: string[] = [];
  const publisher = orderPublisher({ log: (l) => lines.push(l) });

  const early = publisher.publish(created('ord_a'));
  publisher.connect(operator, ACME_APP_UID);
  await early;
  await publisher.publish(created('ord_a')); // the same event again (a retry)
  // Derived again with other details (the in-memory services restarted): the first message stands.
  await publisher.publish(created('ord_a', 'usr_grace'));

  const messages = (await admin.listMessages(ACME_APP_UID)).data;
  assert.deepEqual(
    messages.map((m) => [m.event_type, m.event_id, (m.payload as { userId: string }).userId]),
    [['order.created', 'ord_a-created', 'usr_ada']],
  );
  assert.match(lines[0]!, /published order\.created ord_a-created as msg_\w+ \(to 1 endpoint\(s\)\)/);
  assert.match(lines[1]!, /\(sent before\)/);
  assert.match(lines[2]!, /published before \(with other details\)/);
});

test('the publisher rejects, and says why, when Junction refuses the event or setup failed', async (t) => {
  const { admin, operator } = await gateway(t);
  await setupAcme(admin, 'http://127.0.0.1:9111/webhooks');
  const lines: string[] = [];
  const publisher = orderPublisher({ log: (l) => lines.push(l) });
  publisher.connect(operator, ACME_APP_UID);
  const bad = { ...created('ord_b'), payload: { id: 'ord_b' } }; // fails the order.created schema
  await assert.rejects(publisher.publish(bad), (err) => err instanceof WebhookApiError && err.status === 422);
  assert.match(lines[0]!, /could not publish order\.created ord_b-created: 422 webhook_payload_invalid/);

  const orphan = orderPublisher({ log: (l) => lines.push(l) });
  const waiting = orphan.publish(created('ord_c'));
  orphan.fail(new Error('setup failed'));
  await assert.rejects(waiting, /setup failed/);
});
