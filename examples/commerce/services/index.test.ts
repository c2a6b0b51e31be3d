import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServices } from './index.ts';
import { start as startUsers } from './users.ts';

test('starts users, orders, products, partner, slow and payments and reports their urls', async (t) => {
  const demo = await startServices({
    ports: { users: 0, orders: 0, products: 0, partner: 0, slow: 0, payments: 0 },
  });
  t.after(() => demo.close());
  const checks = {
    users: '/users/usr_ada',
    orders: '/orders/ord_1001',
    products: '/v2/products/prd_mug',
    partner: '/rates',
    slow: '/slow?ms=0',
    payments: '/_stats',
  } as const;
  for (const [name, path] of Object.entries(checks) as [keyof typeof checks, string][]) {
    assert.match(demo.urls[name], /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await (await fetch(`${demo.urls[name]}/healthz`)).json(), { status: 'ok' });
    assert.equal((await fetch(`${demo.urls[name]}${path}`)).status, 200, name);
  }
});

test('takes ports from DEMO_*_PORT when none is given', async (t) => {
  const env = {
    DEMO_USERS_PORT: '0',
    DEMO_ORDERS_PORT: '0',
    DEMO_PRODUCTS_PORT: '0',
    DEMO_PARTNER_PORT: '0',
    DEMO_SLOW_PORT: '0',
    DEMO_PAYMENTS_PORT: '0',
  };
  const demo = await startServices({ env });
  t.after(() => demo.close());
  assert.notEqual(new URL(demo.urls.users).port, '9101');
  assert.notEqual(new URL(demo.urls.orders).port, '9102');
  assert.notEqual(new URL(demo.urls.products).port, '9103');
  assert.notEqual(new URL(demo.urls.partner).port, '9104');
  assert.notEqual(new URL(demo.urls.slow).port, '9105');
  assert.notEqual(new URL(demo.urls.payments).port, '9106');
});

test('refuses a malformed port before starting anything', async () => {
  await assert.rejects(startServices({ env: { DEMO_ORDERS_PORT: 'ninety' } }), RangeError);
  await assert.rejects(startServices({ ports: { users: 70_000 } }), RangeError);
  await assert.rejects(startServices({ env: { DEMO_PARTNER_LIMIT: '-1' } }), RangeError);
});

test('gives the partner its rate limit from DEMO_PARTNER_LIMIT and DEMO_PARTNER_WINDOW_MS', async (t) => {
  const ports = { users: 0, orders: 0, products: 0, partner: 0, slow: 0, payments: 0 };
  const demo = await startServices({
    ports,
    env: { DEMO_PARTNER_LIMIT: '2', DEMO_PARTNER_WINDOW_MS: '60000' },
  });
  t.after(() => demo.close());
  const control = (await (await fetch(`${demo.urls.partner}/_control`)).json()) as Record<string, unknown>;
  assert.equal(control.rateLimit, 2);
  assert.equal(control.rateLimitWindowMs, 60_000);
});

test('fails as a whole when one port is taken', async (t) => {
  const squatter = await startUsers({ port: 0 });
  t.after(() => squatter.close());
  const taken = Number(new URL(squatter.url).port);
  await assert.rejects(
    startServices({ ports: { users: 0, orders: taken, products: 0, partner: 0, slow: 0, payments: 0 } }),
    {
      code: 'EADDRINUSE',
    },
  );
});
