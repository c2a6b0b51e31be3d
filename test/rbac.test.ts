/** `auth.rbac` end to end: roles of API keys decide which methods a route answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAuthGateway } from './helpers/auth.ts';
import { startUpstream } from './helpers/upstream.ts';

async function setup(t: Parameters<typeof startAuthGateway>[0]) {
  const up = await startUpstream(t);
  const gw = await startAuthGateway(t, {
    upstreams: { orders: { targets: [up.url] } },
    routes: [
      {
        name: 'orders',
        match: { path: '/orders' },
        proxy: { upstream: 'orders' },
        policies: {
          'auth.api-key': {},
          'auth.rbac': { allow: { reader: ['GET'], clerk: ['GET', 'POST'], 'orders:admin': ['*'] } },
        },
      },
      {
        name: 'public-or-keyed',
        match: { path: '/catalog' },
        proxy: { upstream: 'orders' },
        policies: { 'auth.api-key': { required: false }, 'auth.rbac': { allow: { reader: ['GET'] } } },
      },
      {
        name: 'no-authentication',
        match: { path: '/forgotten' },
        proxy: { upstream: 'orders' },
        policies: { 'auth.rbac': { allow: { reader: ['GET'] }, challenge: 'Bearer realm="orders"' } },
      },
    ],
  });
  const keyWith = async (...roles: string[]) =>
    (await gw.createKey({ name: roles.join('+') || 'none', roles })).secret;
  return { up, gw, keyWith };
}

async function call(url: string, method: string, secret?: string) {
  const res = await fetch(url, { method, headers: secret ? { 'x-api-key': secret } : {} });
  const body = res.headers.get('content-type')?.includes('problem')
    ? ((await res.json()) as { code: string; detail: string })
    : undefined;
  if (!body) await res.arrayBuffer();
  return {
    status: res.status,
    code: body?.code,
    detail: body?.detail,
    challenge: res.headers.get('www-authenticate'),
  };
}

test('each role gets exactly the methods the route lists for it', async (t) => {
  const { up, gw, keyWith } = await setup(t);
  const reader = await keyWith('reader');
  const clerk = await keyWith('clerk');
  const admin = await keyWith('orders:admin');
  const url = gw.url('/orders');
  const grid: [string, string, number][] = [
    [reader, 'GET', 200],
    [reader, 'HEAD', 200],
    [reader, 'POST', 403],
    [reader, 'DELETE', 403],
    [clerk, 'POST', 200],
    [clerk, 'DELETE', 403],
    [admin, 'DELETE', 200],
    [admin, 'PATCH', 200],
  ];
  for (const [secret, method, status] of grid) {
    assert.equal(
      (await call(url, method, secret)).status,
      status,
      `${method} as ${secret === reader ? 'reader' : secret === clerk ? 'clerk' : 'admin'}`,
    );
  }
  assert.equal(up.seen.length, 5, 'refused requests never reach the upstream');
});

test('a caller without an allowing role → 403 forbidden that names no role or rule; audited', async (t) => {
  const { gw, keyWith } = await setup(t);
  const none = await keyWith();
  const other = await keyWith('billing', 'orders:admin-ish');
  for (const secret of [none, other]) {
    const res = await call(gw.url('/orders'), 'GET', secret);
    assert.equal(res.status, 403);
    assert.equal(res.code, 'forbidden');
    assert.doesNotMatch(res.detail ?? '', /reader|clerk|orders:admin|rbac/);
  }
  const denials = gw.audit.filter((e) => e.action === 'auth.deny');
  assert.deepEqual(
    denials.map((e) => [e.reason, e.resource, e.actor?.kind]),
    [
      ['forbidden:rbac_no_role', 'route:orders', 'api-key'],
      ['forbidden:rbac_no_role', 'route:orders', 'api-key'],
    ],
  );
});

test('with an optional key, an anonymous caller meets RBAC as 401 unauthenticated', async (t) => {
  const { gw, keyWith } = await setup(t);
  const anonymous = await call(gw.url('/catalog'), 'GET');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.code, 'unauthenticated');
  assert.equal(anonymous.challenge, 'Bearer realm="junction"');
  assert.equal((await call(gw.url('/catalog'), 'GET', await keyWith('reader'))).status, 200);
  assert.equal((await call(gw.url('/catalog'), 'GET', 'jk_bogus')).code, 'api_key_invalid');
});

test('RBAC on a route without an authentication policy refuses everyone as unauthenticated', async (t) => {
  const { gw, keyWith } = await setup(t);
  const res = await call(gw.url('/forgotten'), 'GET', await keyWith('reader'));
  assert.equal(res.status, 401);
  assert.equal(res.code, 'unauthenticated');
  assert.equal(res.challenge, 'Bearer realm="orders"');
});

test('a route config naming an invalid role or method is refused at load with its path', async (t) => {
  const { gw } = await setup(t);
  gw.writeConfig({
    routes: [
      {
        name: 'bad',
        match: { path: '/bad' },
        respond: { status: 200 },
        policies: { 'auth.rbac': { allow: { reader: ['get'] } } },
      },
    ],
  });
  const outcome = await gw.gateway.reload('test');
  assert.equal(outcome.status, 'rejected');
  assert.ok(
    outcome.issues?.some((i) => i.path.startsWith('/routes/0/policies/auth.rbac/allow')),
    JSON.stringify(outcome.issues),
  );
});
