/**
 * The README's "Outbound webhooks" commands (issue #7) against `npm start`: the orders service
 * publishes `order.created` and `order.shipped` through Junction's admin API (an operator token, an
 * event id, an Idempotency-Key) to the customer Acme's application, and Junction delivers them signed
 * to Acme's receiver, which verifies them with the `standardwebhooks` package. A receiver answering
 * 503 gets the message again on issue #7's schedule (the first retry after ~5 s); one answering 410
 * has its endpoint disabled and the message dead-lettered (`junction webhooks dead`), and once healed,
 * enabled and recovered (`junction webhooks recover --since 1h`) the message arrives with its
 * webhook-id unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEMO_ORDERS_ADMIN_TOKEN } from '../examples/commerce/publisher.ts';
import type { Received } from '../examples/commerce/services/receiver.ts';
import { ACME_ENDPOINT_UID } from '../examples/commerce/setup.ts';
import { createWebhookClient } from '../src/webhooks/index.ts';
import { CONFIG, junction, startDemo, waitFor } from './helpers/demo.ts';

const ADMIN_TOKEN = 'junction-demo-admin-token';
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** Deliveries go through the hub's worker on a loaded machine: generous, never a timing assertion. */
const DELIVERED_MS = 60_000;

/** `GET /admin/v1/apps/{app}/endpoints/{ep}/dead` and `junction webhooks dead --json`. */
interface DeadLetterView {
  message_id: string;
  endpoint_id: string;
  attempts: number;
  last_status: number | null;
}

// The timeout only stops a demo that never comes up from holding the run; the whole takes ~30 s.
test('the demo publishes order events through Junction to a customer endpoint that verifies them (README "Outbound webhooks")', {
  timeout: 240_000,
}, async (t) => {
  // Shipments move only when the test moves them.
  const { gw, ports, env } = await startDemo(t, 'demo-webhooks', { DEMO_SHIPMENTS_TICK_MS: '0' });
  const adminUrl = `http://127.0.0.1:${ports.admin}`;
  const admin = createWebhookClient({ baseUrl: adminUrl, token: ADMIN_TOKEN });
  const acme = (path: string) => `http://127.0.0.1:${ports.receiver}${path}`;
  const json = async <T>(url: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(url, init);
    assert.ok(res.ok, `${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  };
  const received = async () => (await json<{ data: Received[] }>(acme('/received'))).data;
  const fail = (status: number | null, count?: number) =>
    json(acme('/fail'), { method: 'POST', body: JSON.stringify({ status, ...(count ? { count } : {}) }) });
  /** What Acme received about one order, oldest first. */
  const receivedFor = async (orderId: string, type: string) =>
    (await received()).filter(
      (r) => r.type === type && (r.payload as { id?: string } | undefined)?.id === orderId,
    );
  /** The message the orders service published for an order's event (its event id is `<order>-<what>`). */
  const messageOf = (eventId: string) =>
    waitFor(`the message ${eventId}`, async () =>
      (await admin.listMessages('acme', { limit: 250 })).data.find((m) => m.event_id === eventId),
    );
  const newOrder = async () =>
    (
      await json<{ id: string }>(`${gw}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'usr_ada', items: [{ productId: 'prd_mug', quantity: 1 }] }),
      })
    ).id;
  const endpoint = async () => {
    const page = await admin.listEndpoints('acme');
    const ep = page.data.find((e) => e.uid === ACME_ENDPOINT_UID);
    assert.ok(ep, 'the acme-receiver endpoint');
    return ep;
  };

  await t.test(
    'at start the demo set up the event types, the application acme and its endpoint',
    async () => {
      for (const name of ['order.created', 'order.shipped']) {
        assert.equal((await admin.getEventType(name)).version, 1, `${name} has its JSON Schema`);
      }
      assert.equal((await admin.getApp('acme')).name, 'Acme');
      const ep = await endpoint();
      assert.equal(ep.url, acme('/webhooks'));
      assert.deepEqual(ep.filter_types, ['order.created', 'order.shipped']);
      assert.equal(ep.disabled, false);
      // The seed order ord_1002 has a parcel in transit (the partner's seed shipments, polled at start).
      const shipped = await waitFor(
        'order.shipped of ord_1002',
        async () => (await receivedFor('ord_1002', 'order.shipped'))[0],
        DELIVERED_MS,
      );
      assert.equal(shipped.verified, true);
    },
  );

  await t.test(
    'creating an order delivers a verified order.created, webhook-id = the message id, sent with the operator token',
    async () => {
      const orderId = await newOrder();
      const got = await waitFor(
        'order.created at Acme',
        async () => (await receivedFor(orderId, 'order.created'))[0],
        DELIVERED_MS,
      );
      assert.equal(got.verified, true, 'verified with standardwebhooks and the endpoint secret');
      assert.equal(got.status, 204);
      assert.deepEqual(got.payload, {
        ...(got.payload as object),
        id: orderId,
        userId: 'usr_ada',
        items: [{ productId: 'prd_mug', quantity: 1 }],
      });
      const message = await messageOf(`${orderId}-created`);
      assert.equal(got.webhookId, message.id);
      assert.equal(message.event_type, 'order.created');
      assert.equal(message.schema_version, 1, 'validated against the schema');
      // Sent by the orders service's operator token (junction.yaml admin.tokens), not the admin token.
      const audit = await json<{ data: { resource: string; actor: { id: string } }[] }>(
        `${adminUrl}/admin/v1/audit?action=webhook.message.send&limit=250`,
        { headers: ADMIN },
      );
      assert.equal(audit.data.find((r) => r.resource === message.id)?.actor.id, 'orders-service');
      // The operator token may send, not manage: the orders service cannot read the endpoint's secret.
      const operator = createWebhookClient({ baseUrl: adminUrl, token: DEMO_ORDERS_ADMIN_TOKEN });
      await assert.rejects(operator.endpointSecret('acme', (await endpoint()).id), { status: 403 });
    },
  );

  await t.test(
    'shipping the order delivers order.shipped (the partner polled, the orders service told)',
    async () => {
      const orderId = await newOrder();
      const shipment = await json<{ id: string }>(`http://127.0.0.1:${ports.partner}/shipments`, {
        method: 'POST',
        body: JSON.stringify({ orderId }),
      });
      await json(`http://127.0.0.1:${ports.partner}/shipments/${shipment.id}/advance`, { method: 'POST' });
      const got = await waitFor(
        'order.shipped at Acme',
        async () => (await receivedFor(orderId, 'order.shipped'))[0],
        DELIVERED_MS,
      );
      assert.equal(got.verified, true);
      assert.deepEqual((got.payload as { shipment: unknown }).shipment, {
        id: shipment.id,
        carrier: 'DHL',
        status: 'picked_up',
      });
      assert.equal(got.webhookId, (await messageOf(`${orderId}-shipped`)).id);
    },
  );

  await t.test('a receiver answering 503 gets the message again, with the same webhook-id', async (s) => {
    s.after(() => fail(null));
    await fail(503, 1); // the first attempt only
    const orderId = await newOrder();
    const got = await waitFor(
      'the retry delivered',
      async () => {
        const list = await receivedFor(orderId, 'order.created');
        return list.some((r) => r.status === 204) && list;
      },
      DELIVERED_MS,
    );
    assert.deepEqual(
      got.map((r) => r.status),
      [503, 204],
    );
    const message = await messageOf(`${orderId}-created`);
    assert.deepEqual(
      got.map((r) => r.webhookId),
      [message.id, message.id],
    );
    const attempts = await waitFor('both attempts logged', async () => {
      const page = await admin.listAttempts('acme', { message_id: message.id });
      return page.data.length === 2 && page.data;
    });
    assert.deepEqual(
      attempts.map((a) => [a.status, a.response_status]).reverse(), // newest first
      [
        ['failed', 503],
        ['succeeded', 204],
      ],
    );
  });

  await t.test(
    'a receiver answering 410 disables the endpoint and dead-letters the message; healed, enabled and recovered, it arrives',
    async (s) => {
      s.after(() => fail(null));
      await fail(410);
      const orderId = await newOrder();
      const message = await messageOf(`${orderId}-created`);
      const ep = await endpoint();
      const dead = await waitFor(
        'the dead letter',
        async () => {
          const page = await json<{ data: DeadLetterView[] }>(
            `${adminUrl}/admin/v1/apps/acme/endpoints/${ep.id}/dead`,
            { headers: ADMIN },
          );
          return page.data.find((d) => d.message_id === message.id);
        },
        DELIVERED_MS,
      );
      assert.equal(dead.attempts, 1, '410 is not retried');
      assert.equal(dead.last_status, 410);
      assert.equal((await endpoint()).disabled, true, '410 Gone disabled the endpoint');
      assert.equal((await admin.getMessage('acme', message.id)).deliveries[0]?.status, 'dead');

      // The README's commands, on the running demo's store.
      const listed = await junction(['webhooks', 'dead', 'acme', '--json', '-c', CONFIG], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok((JSON.parse(listed.stdout) as DeadLetterView[]).some((d) => d.message_id === message.id));

      await fail(null); // Acme fixed its endpoint
      await admin.updateEndpoint('acme', ep.id, { disabled: false });
      const recovered = await junction(['webhooks', 'recover', 'acme', '--since', '1h', '-c', CONFIG], env);
      assert.equal(recovered.code, 0, recovered.stderr);
      assert.match(recovered.stdout, /^recovered [1-9]\d* dead letters/);
      const got = await waitFor(
        'the recovered message at Acme',
        async () => (await receivedFor(orderId, 'order.created')).find((r) => r.status === 204),
        DELIVERED_MS,
      );
      assert.equal(got.webhookId, message.id, 'the same webhook-id: Acme can tell it is the same message');
      assert.equal(got.verified, true);
    },
  );
});
