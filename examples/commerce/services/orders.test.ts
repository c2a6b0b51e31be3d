import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { type Order, type OrderEvent, start } from './orders.ts';

async function startOrders(t: TestContext) {
  const orders = await start({ port: 0 });
  t.after(() => orders.close());
  return orders;
}

interface SseEvent {
  id?: string;
  event?: string;
  data: string;
  receivedAt: number;
}

/** Parses an SSE body frame by frame as it arrives, stamping each event with its arrival time. */
async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  let buffer = '';
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const event: SseEvent = { data: '', receivedAt: performance.now() };
      for (const line of buffer.slice(0, end).split('\n')) {
        const [field, ...rest] = line.split(': ');
        if (field === 'id' || field === 'event' || field === 'data') event[field] = rest.join(': ');
      }
      buffer = buffer.slice(end + 2);
      yield event;
      end = buffer.indexOf('\n\n');
    }
  }
}

test('lists, fetches and creates orders', async (t) => {
  const { url } = await startOrders(t);
  const list = await fetch(`${url}/orders`);
  assert.equal(list.headers.get('content-type'), 'application/json; charset=utf-8');
  const { data } = (await list.json()) as { data: { id: string }[] };
  assert.ok(data.some((o) => o.id === 'ord_1001'));
  assert.equal(
    ((await (await fetch(`${url}/orders/ord_1001`)).json()) as { userId: string }).userId,
    'usr_ada',
  );

  const missing = await fetch(`${url}/orders/ord_none`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: string }).error, 'order_not_found');

  const created = await fetch(`${url}/orders`, {
    method: 'POST',
    body: JSON.stringify({ userId: 'usr_alan', items: [{ productId: 'prd_tee', quantity: 2 }] }),
  });
  assert.equal(created.status, 201);
  const order = (await created.json()) as { id: string; status: string };
  assert.match(order.id, /^ord_/);
  assert.equal(order.status, 'created');
  assert.deepEqual(await (await fetch(`${url}/orders/${order.id}`)).json(), order);
});

test('refuses invalid orders: bad JSON 400, bad fields 400, oversize 413', async (t) => {
  const { url } = await startOrders(t);
  const post = (body: string) => fetch(`${url}/orders`, { method: 'POST', body });
  assert.equal((await post('not json')).status, 400);
  for (const body of [
    {},
    { userId: 'usr_ada', items: [] },
    { userId: 'usr_ada', items: [{ productId: 'p' }] },
  ]) {
    const res = await post(JSON.stringify(body));
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_order');
  }
  const big = await post(JSON.stringify({ userId: 'u'.repeat(65 * 1024), items: [] }));
  assert.equal(big.status, 413);
  await big.body?.cancel();
});

test('SSE delivers each order.created event as it happens, before the stream ends', async (t) => {
  const { url } = await startOrders(t);
  const res = await fetch(`${url}/orders/events?count=3&intervalMs=150`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  const events: SseEvent[] = [];
  for await (const event of readEvents(res.body!)) events.push(event);
  const endedAt = performance.now();

  assert.deepEqual(
    events.map((e) => [e.event, e.id]),
    [
      ['order.created', '1'],
      ['order.created', '2'],
      ['order.created', '3'],
    ],
  );
  assert.match((JSON.parse(events[0]!.data) as { orderId: string }).orderId, /^ord_/);
  // Two more intervals (~300 ms) passed between the first event and the end: it was not held back.
  assert.ok(
    endedAt - events[0]!.receivedAt >= 200,
    `first event came ${endedAt - events[0]!.receivedAt} ms before the end`,
  );
});

test('SSE defaults to one event per 500 ms; the client may leave mid-stream', async (t) => {
  const { url } = await startOrders(t);
  const startedAt = performance.now();
  const res = await fetch(`${url}/orders/events`);
  const first = await readEvents(res.body!).next(); // returning from the generator cancels the body
  assert.equal(first.value?.id, '1');
  assert.ok(first.value!.receivedAt - startedAt >= 400);
});

test('SSE resumes after Last-Event-ID and answers 204 when nothing is left', async (t) => {
  const { url } = await startOrders(t);
  const resumed = await fetch(`${url}/orders/events?count=3&intervalMs=10`, {
    headers: { 'last-event-id': '2' },
  });
  const ids: (string | undefined)[] = [];
  for await (const event of readEvents(resumed.body!)) ids.push(event.id);
  assert.deepEqual(ids, ['3']);

  const done = await fetch(`${url}/orders/events?count=3`, { headers: { 'last-event-id': '3' } });
  assert.equal(done.status, 204);
  assert.equal((await fetch(`${url}/orders/events?count=0`)).status, 400);
  assert.equal((await fetch(`${url}/orders/events?intervalMs=fast`)).status, 400);
});

test('the WebSocket says hello and echoes each message with a timestamp', async (t) => {
  const { url } = await startOrders(t);
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/orders/live`);
  t.after(() => ws.close());
  // Queue from the start: the hello can arrive before the test asks for it.
  const inbox: unknown[] = [];
  let wake = () => {};
  ws.addEventListener('message', (e) => {
    inbox.push(JSON.parse(String(e.data)));
    wake();
  });
  const next = async () => {
    while (inbox.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return inbox.shift();
  };

  assert.deepEqual(await next(), { hello: 'orders' });
  ws.send('ping 1');
  const echo = (await next()) as { echo: string; at: string };
  assert.equal(echo.echo, 'ping 1');
  assert.ok(!Number.isNaN(Date.parse(echo.at)));
  ws.send(JSON.stringify({ n: 2 }));
  assert.equal(((await next()) as { echo: string }).echo, '{"n":2}');
});

test('/orders/live without an upgrade answers 426; upgrades elsewhere are refused', async (t) => {
  const { url } = await startOrders(t);
  const plain = await fetch(`${url}/orders/live`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get('upgrade'), 'websocket');
  await plain.body?.cancel();

  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/orders/elsewhere`);
  await new Promise((resolve) => ws.addEventListener('error', resolve, { once: true }));
});

test('close() ends open SSE streams and WebSockets instead of waiting for them', async (t) => {
  const orders = await startOrders(t);
  const res = await fetch(`${orders.url}/orders/events?count=100&intervalMs=60000`);
  const ws = new WebSocket(`${orders.url.replace(/^http/, 'ws')}/orders/live`);
  await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }));
  const wsClosed = new Promise((resolve) => ws.addEventListener('close', resolve, { once: true }));
  await orders.close();
  await wsClosed;
  await assert.rejects(res.body!.getReader().read());
});

test('answers /healthz and /debug/headers', async (t) => {
  const { url } = await startOrders(t);
  assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
  const debug = (await (
    await fetch(`${url}/debug/headers`, { method: 'GET', headers: { via: '1.1 junction' } })
  ).json()) as {
    headers: Record<string, string>;
  };
  assert.equal(debug.headers.via, '1.1 junction');
});

const HOOK_SECRET = `whsec_${Buffer.from('orders test webhook key, 32 byte').toString('base64')}`;

/** Posts a payment event to the consumer as the gateway does: Standard Webhooks, signed by the library. */
function deliver(url: string, id: string, payment: Record<string, unknown>, secret = HOOK_SECRET) {
  const body = JSON.stringify({ id: 'evt_x', type: 'payment_intent.succeeded', data: { object: payment } });
  return post(`${url}/webhooks/payments`, id, body, secret);
}

function post(url: string, id: string, body: string, secret = HOOK_SECRET) {
  const at = new Date();
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    },
    body,
  });
}

test('POST /webhooks/payments: verified, applied once per webhook-id, poison and lost answers on demand', async (t) => {
  const orders = await start({ port: 0, webhookSecret: HOOK_SECRET });
  t.after(() => orders.close());
  const { url } = orders;
  const control = (body: unknown) =>
    fetch(`${url}/_control`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());
  const stats = async () =>
    (await (await fetch(`${url}/_stats`)).json()) as {
      webhooks: Record<string, Record<string, number>>;
      paid: string[];
    };
  const payment = { id: 'pay_1', amount: 1250, currency: 'EUR', orderId: 'ord_1001' };

  const first = await deliver(url, 'evt_a', payment);
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { duplicate: false, id: 'evt_a', paid: 'ord_1001' });
  const order = (await (await fetch(`${url}/orders/ord_1001`)).json()) as Order;
  assert.equal(order.status, 'paid');
  assert.equal(order.payment?.id, 'pay_1');
  assert.equal(order.payment?.eventId, 'evt_a');

  const again = await deliver(url, 'evt_a', payment);
  assert.deepEqual(await again.json(), { duplicate: true, id: 'evt_a' });
  assert.equal((await deliver(url, 'evt_b', payment, `whsec_${'A'.repeat(32)}`)).status, 401);

  // Poison: refused before it is recorded, so the same id is applied once it is replayed.
  assert.deepEqual(await control({ rejectPayments: true }), { rejectPayments: true, losePaymentAnswers: 0 });
  const other = { ...payment, id: 'pay_2', orderId: 'ord_1002' };
  assert.equal((await deliver(url, 'evt_c', other)).status, 400);
  assert.deepEqual((await stats()).paid, ['ord_1001']);
  await fetch(`${url}/_control`, { method: 'DELETE' });
  assert.equal((await deliver(url, 'evt_c', other)).status, 200);

  // A lost answer: processed, answered 503; the retry is recognised.
  await control({ losePaymentAnswers: 1 });
  const created = (await (
    await fetch(`${url}/orders`, {
      method: 'POST',
      body: JSON.stringify({ userId: 'usr_ada', items: [{ productId: 'prd_mug', quantity: 1 }] }),
    })
  ).json()) as Order;
  const third = { ...payment, id: 'pay_3', orderId: created.id };
  assert.equal((await deliver(url, 'evt_d', third)).status, 503);
  assert.deepEqual(await (await deliver(url, 'evt_d', third)).json(), { duplicate: true, id: 'evt_d' });

  assert.equal((await deliver(url, 'evt_e', { ...payment, id: 'pay_4', orderId: 'ord_none' })).status, 422);
  assert.deepEqual(await (await deliver(url, 'evt_f', { id: 'pay_5', amount: 1 })).json(), {
    duplicate: false,
    id: 'evt_f',
    ignored: 'the payment names no orderId',
  });
  const paid = (await (await fetch(`${url}/orders?status=paid`)).json()) as { data: Order[] };
  assert.deepEqual(
    paid.data.map((o) => o.id),
    ['ord_1001', 'ord_1002', created.id],
  );
  assert.deepEqual(await stats(), {
    webhooks: {
      payments: { received: 9, processed: 4, duplicates: 2, rejected: 1, badSignature: 1, ignored: 1 },
      shipments: { received: 0, processed: 0, duplicates: 0, rejected: 0, badSignature: 0, ignored: 0 },
    },
    published: { sent: 0, failed: 0 },
    paid: ['ord_1001', 'ord_1002', created.id],
  });
});

test('without webhookSecret there is no webhook endpoint', async (t) => {
  const { url } = await startOrders(t);
  assert.equal((await deliver(url, 'evt_a', { id: 'pay_1' })).status, 404);
});

test('POST /webhooks/shipments keeps the latest polled version of each shipment on its order', async (t) => {
  const orders = await start({ port: 0, webhookSecret: HOOK_SECRET });
  t.after(() => orders.close());
  const ship = (id: string, status: string, updatedAt: string, orderId = 'ord_1002') =>
    post(
      `${orders.url}/webhooks/shipments`,
      id,
      JSON.stringify({ id: 'shp_1', orderId, carrier: 'UPS', status, updatedAt }),
    ).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  assert.deepEqual(await ship('evt_1', 'in_transit', '2026-11-25T10:00:01.000Z'), {
    status: 200,
    body: { duplicate: false, id: 'evt_1', shipment: 'shp_1', status: 'in_transit' },
  });
  // A later version overtaken by an earlier one (deliveries run in parallel): the later one stays.
  assert.equal((await ship('evt_3', 'delivered', '2026-11-25T10:00:03.000Z')).status, 200);
  const late = await ship('evt_2', 'out_for_delivery', '2026-11-25T10:00:02.000Z');
  assert.match(String(late.body.ignored), /later update \(delivered\)/);
  assert.equal(
    (await ship('evt_4', 'in_transit', '2026-11-25T10:00:04.000Z', 'ord_other')).body.ignored,
    'no order ord_other',
  );
  assert.equal((await post(`${orders.url}/webhooks/shipments`, 'evt_5', '{"id":"shp_1"}')).status, 400);
  const order = (await (await fetch(`${orders.url}/orders/ord_1002`)).json()) as Order;
  assert.deepEqual(order.shipments, [
    {
      id: 'shp_1',
      carrier: 'UPS',
      status: 'delivered',
      updatedAt: '2026-11-25T10:00:03.000Z',
      eventId: 'evt_3',
    },
  ]);
});

/** Resolves once `check` holds; the service hands events to `publish` without waiting for it. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setImmediate(r));
}

const newOrder = (url: string) =>
  fetch(`${url}/orders`, {
    method: 'POST',
    body: JSON.stringify({ userId: 'usr_ada', items: [{ productId: 'prd_mug', quantity: 2 }] }),
  });

test('publishes order.created for a new order, with an event id of its own (outbound webhooks, issue #7)', async (t) => {
  const events: OrderEvent[] = [];
  const orders = await start({ port: 0, publish: async (e) => events.push(e) });
  t.after(() => orders.close());
  const order = (await (await newOrder(orders.url)).json()) as Order;
  await until(() => events.length === 1);
  assert.deepEqual(events, [
    {
      type: 'order.created',
      id: `${order.id}-created`,
      payload: { id: order.id, userId: 'usr_ada', items: order.items, createdAt: order.createdAt },
    },
  ]);
  const stats = (await (await fetch(`${orders.url}/_stats`)).json()) as { published: unknown };
  assert.deepEqual(stats.published, { sent: 1, failed: 0 });
});

test('a publish that fails or never answers does not fail the order: 201, counted as failed', async (t) => {
  let calls = 0;
  const orders = await start({
    port: 0,
    publish: () => (++calls === 1 ? Promise.reject(new Error('junction is down')) : new Promise(() => {})),
  });
  t.after(() => orders.close());
  const failed = await newOrder(orders.url);
  assert.equal(failed.status, 201);
  const { id } = (await failed.json()) as Order;
  assert.equal((await fetch(`${orders.url}/orders/${id}`)).status, 200);
  assert.equal((await newOrder(orders.url)).status, 201, 'a publish that hangs holds nothing up');
  const stats = async () =>
    ((await (await fetch(`${orders.url}/_stats`)).json()) as { published: { failed: number } }).published;
  let published = await stats();
  while (published.failed === 0) published = await stats();
  assert.deepEqual(published, { sent: 0, failed: 1 });
  assert.equal(calls, 2);
});

test('publishes order.shipped once, when a shipment of the order is first with the carrier', async (t) => {
  const events: OrderEvent[] = [];
  const orders = await start({ port: 0, webhookSecret: HOOK_SECRET, publish: async (e) => events.push(e) });
  t.after(() => orders.close());
  const order = (await (await newOrder(orders.url)).json()) as Order;
  await until(() => events.length === 1);
  const ship = async (id: string, shipment: string, status: string, updatedAt: string) => {
    const body = JSON.stringify({ id: shipment, orderId: order.id, carrier: 'DHL', status, updatedAt });
    assert.equal((await post(`${orders.url}/webhooks/shipments`, id, body)).status, 200);
  };
  await ship('evt_1', 'shp_9', 'label_created', '2026-11-25T10:00:01.000Z');
  assert.equal(events.length, 1, 'a label is not a shipment yet');
  await ship('evt_2', 'shp_9', 'picked_up', '2026-11-25T10:00:02.000Z');
  await until(() => events.length === 2);
  await ship('evt_3', 'shp_9', 'in_transit', '2026-11-25T10:00:03.000Z');
  await ship('evt_4', 'shp_8', 'picked_up', '2026-11-25T10:00:04.000Z');
  const shipped = (await (await fetch(`${orders.url}/orders/${order.id}`)).json()) as Order;
  assert.equal(shipped.shippedAt, '2026-11-25T10:00:02.000Z', "the carrier's time of that update");
  assert.deepEqual(events.slice(1), [
    {
      type: 'order.shipped',
      id: `${order.id}-shipped`,
      payload: {
        id: order.id,
        shipment: { id: 'shp_9', carrier: 'DHL', status: 'picked_up' },
        shippedAt: shipped.shippedAt,
      },
    },
  ]);
});
