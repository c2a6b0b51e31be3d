/** The event log and dead letter queue through the admin API: roles, filters, cursors, audit. */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Delivery } from '../src/store/index.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from './helpers/gateway.ts';

const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';

async function setup(t: TestContext) {
  const gw = await startTestGateway(t, {
    admin: {
      token: ADMIN_TOKEN,
      tokens: [
        { name: 'dashboards', token: VIEWER, role: 'viewer' },
        { name: 'ops', token: OPERATOR, role: 'operator' },
      ],
    },
    // A delivery worker, if the gateway runs one, sleeps through the test: it must not take the
    // dead letters this test makes and replays.
    events: { worker: { idlePollMs: 86_400_000 } },
    routes: [{ name: 'hello', match: { path: '/hello' }, respond: { status: 200, body: 'hi' } }],
  });
  return gw;
}

/** Three events for `orders`, one for `crm`, each delivery dead-lettered with a 400. */
async function seedDead(gw: TestGateway): Promise<Delivery[]> {
  const { store, services } = gw.gateway;
  const out: Delivery[] = [];
  for (const [i, sub] of ['orders', 'orders', 'orders', 'crm'].entries()) {
    const r = await store.events.append(
      {
        source: i === 3 ? 'github' : 'stripe',
        type: 'payment.succeeded',
        externalId: `e${i}`,
        payload: `{"n":${i}}`,
      },
      [sub],
      services.ids,
    );
    assert.ok(!r.duplicate);
  }
  const claimed = await store.deliveries.claim('test', 10, 60_000, Date.now() + 60_000);
  for (const d of claimed) {
    assert.ok(await store.deliveries.deadLetter(d.id, 'test', 'destination_status: HTTP 400: bad', 400));
    out.push((await store.deliveries.get(d.id))!);
  }
  return out;
}

function call(gw: TestGateway, token: string, method: string, path: string, body?: unknown) {
  return fetch(gw.adminUrl(`/admin/v1${path}`), {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

test('viewers list events with filters and cursors, read one with its deliveries, and page the dead letters', async (t) => {
  const gw = await setup(t);
  const dead = await seedDead(gw);

  const first = (await (await call(gw, VIEWER, 'GET', '/events?limit=3')).json()) as Page<{
    id: string;
    size: number;
  }>;
  assert.equal(first.data.length, 3);
  assert.ok(first.next_cursor);
  const second = (await (
    await call(gw, VIEWER, 'GET', `/events?limit=3&cursor=${first.next_cursor}`)
  ).json()) as Page<{ id: string }>;
  assert.equal(second.data.length, 1);
  assert.equal(second.next_cursor, null);
  assert.ok(first.data[0]!.id > second.data[0]!.id, 'newest first');
  assert.equal(first.data[0]!.size, 7);

  const stripe = (await (await call(gw, VIEWER, 'GET', '/events?source=stripe')).json()) as Page<unknown>;
  assert.equal(stripe.data.length, 3);
  const future = new Date(Date.now() + 3_600_000).toISOString();
  const later = (await (await call(gw, VIEWER, 'GET', `/events?from=${future}`)).json()) as Page<unknown>;
  assert.equal(later.data.length, 0);

  const one = dead[0]!;
  const detail = (await (await call(gw, VIEWER, 'GET', `/events/${one.eventId}`)).json()) as {
    payload: string;
    payload_encoding: string;
    deliveries: { id: string; status: string; last_error: string }[];
  };
  assert.equal(detail.payload_encoding, 'utf8');
  assert.match(detail.payload, /^\{"n":\d\}$/);
  assert.deepEqual(
    detail.deliveries.map((d) => [d.id, d.status]),
    [[one.id, 'dead']],
  );

  const orders = (await (
    await call(gw, VIEWER, 'GET', '/deliveries/dead?subscription=orders&limit=2')
  ).json()) as Page<{
    subscription: string;
  }>;
  assert.equal(orders.data.length, 2);
  assert.ok(orders.data.every((d) => d.subscription === 'orders'));
  const rest = (await (
    await call(gw, VIEWER, 'GET', `/deliveries/dead?subscription=orders&limit=2&cursor=${orders.next_cursor}`)
  ).json()) as Page<unknown>;
  assert.equal(rest.data.length, 1);
  const wrongList = await call(gw, VIEWER, 'GET', `/events?cursor=${orders.next_cursor}`);
  assert.equal(wrongList.status, 400, 'a cursor of one list is refused by another');

  assert.equal((await call(gw, VIEWER, 'GET', '/events/evt_0000000000000')).status, 404);

  const doc = (await (await call(gw, VIEWER, 'GET', '/openapi.json')).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  for (const [path, method] of [
    ['/admin/v1/events', 'get'],
    ['/admin/v1/events/{id}', 'get'],
    ['/admin/v1/deliveries/dead', 'get'],
    ['/admin/v1/deliveries/{id}/replay', 'post'],
    ['/admin/v1/deliveries/replay', 'post'],
    ['/admin/v1/deliveries/{id}', 'delete'],
  ] as const) {
    assert.ok(doc.paths[path]?.[method], `${method} ${path} is in the OpenAPI document`);
  }
});

test('operators replay one, replay many by filter and discard; viewers may not; every change is audited', async (t) => {
  const gw = await setup(t);
  const dead = await seedDead(gw);
  const crm = dead.find((d) => d.subscription === 'crm')!;
  const [o1, ...others] = dead.filter((d) => d.subscription === 'orders');

  const denied = await call(gw, VIEWER, 'POST', `/deliveries/${o1!.id}/replay`);
  assert.equal(denied.status, 403);
  assert.equal(((await denied.json()) as { code: string }).code, 'admin_forbidden');

  const replayed = await call(gw, OPERATOR, 'POST', `/deliveries/${o1!.id}/replay`);
  assert.equal(replayed.status, 200);
  const view = (await replayed.json()) as { status: string; attempts: number };
  assert.deepEqual([view.status, view.attempts], ['pending', 0]);
  const again = await call(gw, OPERATOR, 'POST', `/deliveries/${o1!.id}/replay`);
  assert.equal(again.status, 409);
  assert.equal(((await again.json()) as { code: string }).code, 'delivery_not_dead');

  const many = await call(gw, OPERATOR, 'POST', '/deliveries/replay', { subscription: 'orders' });
  assert.deepEqual(await many.json(), { replayed: others.length });
  for (const d of others) assert.equal((await gw.gateway.store.deliveries.get(d.id))?.status, 'pending');

  const discarded = await call(gw, OPERATOR, 'DELETE', `/deliveries/${crm.id}`);
  assert.equal(discarded.status, 200);
  assert.equal(await gw.gateway.store.deliveries.get(crm.id), undefined);
  assert.ok(await gw.gateway.store.events.get(crm.eventId), 'the event stays in the log');
  assert.equal((await call(gw, OPERATOR, 'DELETE', `/deliveries/${crm.id}`)).status, 404);

  await gw.gateway.services.audit.flush();
  const audit = await gw.gateway.store.auditLog.list({ limit: 100 });
  const mine = audit.items.filter((r) => r.action.startsWith('admin.delivery.'));
  assert.deepEqual(mine.map((r) => [r.action, r.resource, r.actorId]).reverse(), [
    ['admin.delivery.replay', o1!.id, 'ops'],
    ['admin.delivery.replay_many', 'orders', 'ops'],
    ['admin.delivery.discard', crm.id, 'ops'],
  ]);
  assert.deepEqual(JSON.parse(mine.find((r) => r.action === 'admin.delivery.replay_many')!.after!), {
    subscription: 'orders',
    replayed: others.length,
  });
});

test('injection payloads in filters are data: they match nothing and change nothing', async (t) => {
  const gw = await setup(t);
  await seedDead(gw);
  const payloads = ["' OR '1'='1", "x'; DROP TABLE deliveries; --", 'orders" OR 1=1 --', '%27%20OR%201%3D1'];
  for (const p of payloads) {
    const q = encodeURIComponent(p);
    for (const path of [`/deliveries/dead?subscription=${q}`, `/events?source=${q}`, `/events?type=${q}`]) {
      const res = await call(gw, VIEWER, 'GET', path);
      assert.equal(res.status, 200, path);
      assert.deepEqual(((await res.json()) as Page<unknown>).data, [], path);
    }
    const bulk = await call(gw, OPERATOR, 'POST', '/deliveries/replay', { subscription: p });
    assert.deepEqual(await bulk.json(), { replayed: 0 });
    const byId = await call(gw, OPERATOR, 'POST', `/deliveries/${encodeURIComponent(p)}/replay`);
    assert.equal(byId.status, 400, 'an id that is not a dlv_ id never reaches the store');
  }
  assert.equal(await gw.gateway.store.deliveries.count('dead', 100), 4);
  assert.equal((await gw.gateway.store.events.list({ limit: 100 })).items.length, 4);
});
