import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { start } from './products.ts';

async function startProducts(t: TestContext) {
  const products = await start({ port: 0 });
  t.after(() => products.close());
  return products;
}

test('v1 serves name and a decimal dollar price', async (t) => {
  const { url } = await startProducts(t);
  const res = await fetch(`${url}/v1/products/prd_mug`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.deepEqual(await res.json(), { id: 'prd_mug', name: 'Junction mug', price: 12.5 });
});

test('v2 serves title, price in minor units with currency, and tags', async (t) => {
  const { url } = await startProducts(t);
  const res = await fetch(`${url}/v2/products/prd_mug`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    id: 'prd_mug',
    title: 'Junction mug',
    price: { amount: 1250, currency: 'USD' },
    tags: ['kitchen', 'merch'],
  });
});

test('both versions list the same products under data, each in its own shape', async (t) => {
  const { url } = await startProducts(t);
  const v1 = (await (await fetch(`${url}/v1/products`)).json()) as { data: Record<string, unknown>[] };
  const v2 = (await (await fetch(`${url}/v2/products`)).json()) as { data: Record<string, unknown>[] };
  assert.ok(v1.data.length > 0);
  assert.deepEqual(
    v1.data.map((p) => p.id),
    v2.data.map((p) => p.id),
  );
  for (const p of v1.data) assert.deepEqual(Object.keys(p).sort(), ['id', 'name', 'price']);
  for (const p of v2.data) assert.deepEqual(Object.keys(p).sort(), ['id', 'price', 'tags', 'title']);
});

test('answers 404 JSON for an unknown product in either version, and for an unknown version', async (t) => {
  const { url } = await startProducts(t);
  for (const path of ['/v1/products/prd_none', '/v2/products/prd_none']) {
    const res = await fetch(`${url}${path}`);
    assert.equal(res.status, 404, path);
    assert.equal(((await res.json()) as { error: string }).error, 'product_not_found');
  }
  assert.equal((await fetch(`${url}/v3/products`)).status, 404);
});

test('answers /healthz and /debug/headers', async (t) => {
  const { url } = await startProducts(t);
  assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
  const debug = await fetch(`${url}/debug/headers`, { headers: { 'x-request-id': 'req_1' } });
  assert.equal(
    ((await debug.json()) as { headers: Record<string, string> }).headers['x-request-id'],
    'req_1',
  );
});
