/**
 * The README's "Events" commands (issue #6) against `npm start`: examples/commerce/start.ts on free
 * ports, with its own store and PKI directory. The payments service sends Stripe-signed webhooks to the
 * gateway, which verifies, dedupes and stores them and forwards them to the orders service (an
 * idempotent consumer); a poisoned delivery goes to the dead letter queue and is replayed; the events
 * are exported. Each check fails when its part of junction.yaml's `events:` is taken out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Stripe from 'stripe';
import { DEMO_STRIPE_SECRET } from '../examples/commerce/services/index.ts';
import { CONFIG, junction, startDemo, waitFor } from './helpers/demo.ts';

const stripe = new Stripe('sk_test_demo');
const ADMIN = { authorization: 'Bearer junction-demo-admin-token' };

interface EventSummary {
  id: string;
  source: string;
  type: string;
  external_id: string | null;
}
interface DeliveryView {
  id: string;
  event_id: string;
  subscription: string;
  status: string;
  attempts: number;
  last_status: number | null;
}
interface Order {
  id: string;
  status: string;
  payment?: { id: string; eventId: string };
}
interface OrdersStats {
  webhooks: Record<
    'payments' | 'shipments',
    Record<'received' | 'processed' | 'duplicates' | 'rejected' | 'badSignature', number>
  >;
  paid: string[];
}
interface PaymentsStats {
  webhooks: Record<'sent' | 'attempts' | 'delivered' | 'duplicates' | 'failed', number>;
}

// The timeout only stops a demo that never comes up from holding the run; the whole takes 10–20 s.
test('the demo shows webhooks in, deliveries out, the dead letter queue and export (README "Events")', {
  timeout: 120_000,
}, async (t) => {
  // Shipments move only when the test moves them, so the poller's counts below are exact.
  const { gw, ports, env } = await startDemo(t, 'demo-events', { DEMO_SHIPMENTS_TICK_MS: '0' });
  const admin = `http://127.0.0.1:${ports.admin}/admin/v1`;
  const service = (name: 'orders' | 'payments' | 'partner', path: string) =>
    `http://127.0.0.1:${ports[name]}${path}`;
  const json = async <T>(url: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(url, init);
    assert.ok(res.ok, `${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  };
  const control = (name: 'orders' | 'payments', body?: unknown) =>
    json(service(name, '/_control'), {
      method: body === undefined ? 'DELETE' : 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const ordersStats = () => json<OrdersStats>(service('orders', '/_stats'));
  const paymentsStats = () => json<PaymentsStats>(service('payments', '/_stats'));
  const eventsOf = async (source: string) =>
    (
      await json<{ data: EventSummary[] }>(`${admin}/events?source=${source}&limit=100`, {
        headers: ADMIN,
      })
    ).data;
  const stripeEvents = async () =>
    (await json<{ data: EventSummary[] }>(`${admin}/events?source=stripe&limit=100`, { headers: ADMIN }))
      .data;
  const eventDetail = (id: string) =>
    json<EventSummary & { deliveries: DeliveryView[] }>(`${admin}/events/${id}`, { headers: ADMIN });
  /** A new order, through the gateway. */
  const newOrder = async () =>
    (
      await json<Order>(`${gw}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'usr_ada', items: [{ productId: 'prd_mug', quantity: 1 }] }),
      })
    ).id;
  /** A charge through the gateway, which requires an Idempotency-Key on /payments (Q11). */
  const pay = async (orderId: string, amount = 1250) => {
    const res = await fetch(`${gw}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      body: JSON.stringify({ amount, currency: 'EUR', orderId }),
    });
    assert.equal(res.status, 201);
    return (await res.json()) as { id: string };
  };
  const paidOrder = (id: string) =>
    waitFor(`order ${id} paid`, async () => {
      const order = await json<Order>(`${gw}/orders/${id}`);
      return order.status === 'paid' && order;
    });
  /** The stored event of a payment: its evt_ id is the payment's hex (examples/commerce/services/payments.ts). */
  const eventOf = (paymentId: string) =>
    waitFor(`the event of ${paymentId}`, async () =>
      (await stripeEvents()).find((e) => e.external_id === `evt_${paymentId.slice('pay_'.length)}`),
    );

  await t.test(
    'the partner without webhooks is polled: each shipment version is one event, forwarded to the orders service (Q9)',
    async () => {
      // At start: the three seed shipments, read in two pages (limit=2, Link rel="next").
      const seeded = await waitFor('the seed shipments polled', async () => {
        const events = await eventsOf('shipments');
        return events.length >= 3 && events;
      });
      assert.deepEqual(seeded.map((e) => e.external_id?.split('@')[0]).sort(), [
        'shp_1001',
        'shp_1002',
        'shp_1003',
      ]);
      assert.ok(seeded.every((e) => e.type === 'shipment.updated'));

      // The carrier scans a parcel: a new version, polled within an interval (since= and the ETag).
      const moved = await json<{ id: string; status: string; updatedAt: string }>(
        service('partner', '/shipments/shp_1003/advance'),
        { method: 'POST' },
      );
      const event = await waitFor('the new version polled', async () =>
        (await eventsOf('shipments')).find((e) => e.external_id === `shp_1003@${moved.updatedAt}`),
      );
      const shipment = await waitFor('the update on ord_1002', async () => {
        const o = await json<Order & { shipments?: { id: string; status: string; eventId: string }[] }>(
          `${gw}/orders/ord_1002`,
        );
        return o.shipments?.find((s) => s.id === 'shp_1003' && s.eventId === event.id);
      });
      assert.equal(shipment.status, moved.status);
      // Polls since then found nothing new: the same version is not a second event, and an unchanged
      // list is answered 304.
      const metrics = await waitFor('a poll answered 304', async () => {
        const text = await (await fetch(`http://127.0.0.1:${ports.admin}/metrics`)).text();
        return /junction_polls_total\{source="shipments",result="not_modified"\} [1-9]/.test(text) && text;
      });
      assert.match(metrics, /junction_poll_items_total\{source="shipments",result="new"\} 4\n/);
      assert.equal((await eventsOf('shipments')).length, 4);
      // Every shipment event delivered (a 2xx from the orders service).
      await waitFor('the shipment deliveries done', async () => {
        for (const e of await eventsOf('shipments')) {
          if ((await eventDetail(e.id)).deliveries.some((d) => d.status !== 'done')) return false;
        }
        return true;
      });
    },
  );

  await t.test(
    'a charge becomes a verified, stored event, and its order is paid exactly once although the provider sent it twice (Q1, Q25, Q47)',
    async (s) => {
      await control('payments', { duplicateWebhooks: true });
      s.after(() => control('payments'));
      const before = await ordersStats();
      const payment = await pay('ord_1001');
      const order = await paidOrder('ord_1001');
      assert.equal(order.payment?.id, payment.id);
      // Both copies acknowledged: one stored (202), the other answered as a duplicate (200).
      const sent = await waitFor('both copies acknowledged', async () => {
        const s = (await paymentsStats()).webhooks;
        return s.delivered === 2 && s;
      });
      assert.equal(sent.duplicates, 1, 'the gateway answered one copy 200 {"duplicate":true}');

      const event = await eventOf(payment.id);
      assert.equal(event.type, 'payment_intent.succeeded');
      assert.equal(order.payment?.eventId, event.id, 'forwarded with webhook-id = the stored event id');
      assert.equal((await stripeEvents()).filter((e) => e.external_id === event.external_id).length, 1);

      // Stripe's "Resend": the same evt_ again is a duplicate, and nothing more reaches the orders service.
      const resend = await json<{ status: number; answer: { id: string; duplicate: boolean } }>(
        service('payments', `/payments/${payment.id}/webhook`),
        { method: 'POST' },
      );
      assert.deepEqual(resend, { attempts: 1, status: 200, answer: { id: event.id, duplicate: true } });
      const detail = await waitFor('the delivery done', async () => {
        const d = await eventDetail(event.id);
        return d.deliveries[0]?.status === 'done' && d;
      });
      assert.deepEqual(
        detail.deliveries.map((d) => [d.subscription, d.status]),
        [['orders-payments', 'done']],
      );
      const stats = await ordersStats();
      assert.equal(
        stats.webhooks.payments.received - before.webhooks.payments.received,
        1,
        'one delivery for three sends',
      );
      assert.equal(stats.webhooks.payments.processed - before.webhooks.payments.processed, 1);
    },
  );

  await t.test(
    'the orders service dedupes a delivery the gateway sent again after a lost answer (Q25)',
    async (s) => {
      await control('orders', { losePaymentAnswers: 1 }); // processes it, then answers 503
      s.after(() => control('orders'));
      const before = await ordersStats();
      const orderId = await newOrder();
      const payment = await pay(orderId, 990);
      await paidOrder(orderId);
      const event = await eventOf(payment.id);
      const delivery = await waitFor('the retried delivery done', async () => {
        const d = (await eventDetail(event.id)).deliveries[0];
        return d?.status === 'done' && d;
      });
      assert.equal(delivery.attempts, 2, 'the 503 was retried (retry.maxAttempts > 1)');
      const after = await ordersStats();
      assert.equal(after.webhooks.payments.processed - before.webhooks.payments.processed, 1, 'applied once');
      assert.equal(
        after.webhooks.payments.duplicates - before.webhooks.payments.duplicates,
        1,
        'the retry recognised',
      );
    },
  );

  await t.test(
    'a webhook with a bad signature is 401 and stores nothing; the demo secret signs as Stripe does',
    async () => {
      const count = (await stripeEvents()).length;
      const body = JSON.stringify({
        id: `evt_forged${Date.now()}`,
        object: 'event',
        type: 'payment_intent.succeeded',
        data: { object: { id: 'pay_forged', amount: 1, currency: 'EUR', orderId: 'ord_1002' } },
      });
      const post = (secret: string) =>
        fetch(`${gw}/hooks/stripe`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret }),
          },
          body,
        });
      const forged = await post('whsec_not_the_demo_secret');
      assert.equal(forged.status, 401);
      assert.match(forged.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(((await forged.json()) as { code: string }).code, 'webhook_signature_invalid');
      assert.equal((await stripeEvents()).length, count, 'nothing stored');
      assert.equal((await ordersStats()).webhooks.payments.badSignature, 0, 'and nothing forwarded');
      assert.equal((await json<Order>(`${gw}/orders/ord_1002`)).status, 'created');
      // The same body signed with the demo's secret (stripe-node's signer, not the demo's) is taken.
      const genuine = await post(DEMO_STRIPE_SECRET);
      assert.equal(genuine.status, 202);
      assert.equal((await stripeEvents()).length, count + 1);
    },
  );

  await t.test(
    'a poisoned delivery is dead at once, listed by junction dlq, and arrives when replayed (Q24, Q40)',
    async (s) => {
      await control('orders', { rejectPayments: true }); // 400: the gateway does not retry it
      s.after(() => control('orders'));
      const orderId = await newOrder();
      const payment = await pay(orderId, 4200);
      const event = await eventOf(payment.id);
      const dead = await waitFor('the dead letter', async () => {
        const page = await json<{ data: DeliveryView[] }>(
          `${admin}/deliveries/dead?subscription=orders-payments`,
          { headers: ADMIN },
        );
        return page.data.find((d) => d.event_id === event.id);
      });
      assert.equal(dead.attempts, 1, 'a 400 is not retried');
      assert.equal(dead.last_status, 400);

      // The README's command, on the running demo's store.
      const listed = await junction(['dlq', 'list', '--json', '-c', CONFIG], env);
      assert.equal(listed.code, 0, listed.stderr);
      const views = JSON.parse(listed.stdout) as DeliveryView[];
      assert.ok(views.some((v) => v.id === dead.id && v.subscription === 'orders-payments'));

      await control('orders'); // the cause fixed
      assert.equal((await json<Order>(`${gw}/orders/${orderId}`)).status, 'created');
      const replayed = await json<DeliveryView>(`${admin}/deliveries/${dead.id}/replay`, {
        method: 'POST',
        headers: ADMIN,
      });
      assert.equal(replayed.status, 'pending');
      const order = await paidOrder(orderId);
      assert.equal(order.payment?.eventId, event.id);
    },
  );

  await t.test('junction events export writes the stored events as NDJSON (Q31)', async () => {
    // --source: the other sources' events keep arriving meanwhile.
    const exported = await junction(
      ['events', 'export', '-c', CONFIG, '--from', '1h', '--source', 'stripe'],
      env,
    );
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EventSummary & { payload: string });
    const stored = await stripeEvents();
    assert.deepEqual(lines.map((l) => l.id).sort(), stored.map((e) => e.id).sort());
    assert.equal(JSON.parse(lines[0]!.payload).type, 'payment_intent.succeeded');
  });
});
