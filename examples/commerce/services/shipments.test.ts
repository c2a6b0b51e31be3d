import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { start } from './partner.ts';
import { AUTO_SHIPMENTS, type Shipment } from './shipments.ts';

async function startPartner(t: TestContext, shipmentsTickMs = 0) {
  const partner = await start({ port: 0, shipmentsTickMs });
  t.after(() => partner.close());
  const list = async (query: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${partner.url}/shipments${query}`, { headers });
    const body = res.status === 200 ? ((await res.json()) as { data: Shipment[] }).data : undefined;
    return { status: res.status, etag: res.headers.get('etag'), link: res.headers.get('link'), body };
  };
  return { url: partner.url, list };
}

test('GET /shipments pages oldest change first with Link rel="next", and since= is inclusive', async (t) => {
  const { list } = await startPartner(t);
  const all = await list('');
  assert.deepEqual(
    all.body?.map((s) => [s.id, s.orderId, s.status]),
    [
      ['shp_1001', 'ord_1001', 'label_created'],
      ['shp_1002', 'ord_1002', 'in_transit'],
      ['shp_1003', 'ord_1002', 'picked_up'],
    ],
  );
  assert.equal(all.link, null);

  const first = await list('?limit=2');
  assert.deepEqual(
    first.body?.map((s) => s.id),
    ['shp_1001', 'shp_1002'],
  );
  const next = /^<(\/shipments\?[^>]+)>; rel="next"$/.exec(first.link ?? '')?.[1];
  assert.ok(next, first.link ?? 'no Link');
  const second = await list(next.slice('/shipments'.length));
  assert.deepEqual(
    second.body?.map((s) => s.id),
    ['shp_1003'],
  );
  assert.equal(second.link, null);

  const since = all.body![1]!.updatedAt;
  assert.deepEqual(
    (await list(`?since=${encodeURIComponent(since)}`)).body?.map((s) => s.id),
    ['shp_1002', 'shp_1003'],
  );
  assert.equal((await list('?limit=0')).status, 400);
});

test('an unchanged list is 304 to If-None-Match; an advanced shipment is listed with a later updatedAt', async (t) => {
  const { url, list } = await startPartner(t);
  const before = await list('');
  assert.match(before.etag ?? '', /^"[\w-]+"$/);
  assert.equal((await list('', { 'if-none-match': before.etag! })).status, 304);
  assert.equal((await list('', { 'if-none-match': `W/${before.etag}` })).status, 304);

  const res = await fetch(`${url}/shipments/shp_1001/advance`, { method: 'POST' });
  const moved = (await res.json()) as Shipment;
  assert.equal(moved.status, 'picked_up');
  assert.ok(moved.updatedAt > before.body!.at(-1)!.updatedAt, 'later than every earlier change');
  const after = await list('', { 'if-none-match': before.etag! });
  assert.equal(after.status, 200);
  assert.deepEqual(after.body?.at(-1), moved, 'the changed shipment moves to the end');

  for (let i = 0; i < 3; i++) await fetch(`${url}/shipments/shp_1001/advance`, { method: 'POST' });
  assert.equal(((await (await fetch(`${url}/shipments/shp_1001`)).json()) as Shipment).status, 'delivered');
  assert.equal((await fetch(`${url}/shipments/shp_1001/advance`, { method: 'POST' })).status, 409);
  assert.equal((await fetch(`${url}/shipments/shp_none`)).status, 404);
});

test('with a tick, shipments move on by themselves', async (t) => {
  const { list } = await startPartner(t, 20);
  const before = (await list('')).body!;
  await new Promise((r) => setTimeout(r, 200));
  const after = (await list('')).body!;
  assert.notDeepEqual(
    after.map((s) => s.status),
    before.map((s) => s.status),
  );
});

test('POST /shipments starts a shipment for an order; the timer stops starting new ones at AUTO_SHIPMENTS', async (t) => {
  const { url, list } = await startPartner(t);
  const res = await fetch(`${url}/shipments`, {
    method: 'POST',
    body: JSON.stringify({ orderId: 'ord_1001' }),
  });
  assert.equal(res.status, 201);
  const shipment = (await res.json()) as Shipment;
  assert.deepEqual(
    { ...shipment, updatedAt: undefined },
    {
      id: 'shp_1004',
      orderId: 'ord_1001',
      carrier: 'DHL',
      status: 'label_created',
      updatedAt: undefined,
    },
  );
  assert.equal(res.headers.get('location'), '/shipments/shp_1004');
  assert.equal((await list('')).body?.at(-1)?.id, 'shp_1004');
  assert.equal((await fetch(`${url}/shipments`, { method: 'POST', body: '{}' })).status, 400);

  const busy = await startPartner(t, 5);
  await new Promise((r) => setTimeout(r, 600)); // 12 shipments × 5 steps at most, 5 ms apart
  const all = (await busy.list('?limit=100')).body!;
  assert.ok(all.length <= AUTO_SHIPMENTS, `${all.length} shipments`);
});
