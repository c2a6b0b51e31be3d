import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { start } from './partner.ts';
import type { Shipment } from './shipments.ts';

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
