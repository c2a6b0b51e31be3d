/** Q22: shard-aware routing by hash, jump hash, range and a directory edited through the admin API. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { startTestGateway } from './helpers/gateway.ts';
import { startUpstream } from './helpers/upstream.ts';

/** Three shard upstreams that answer with their own name and the path they got. */
async function shards(t: TestContext) {
  const names = ['s0', 's1', 's2'];
  const ups = await Promise.all(
    names.map((name) =>
      startUpstream(t, (req, res) => {
        const body = JSON.stringify({ shard: name, url: req.url });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }),
    ),
  );
  return Object.fromEntries(names.map((n, i) => [n, { targets: [ups[i]!.url] }]));
}

const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as { shard?: string; url?: string; code?: string } };
};

test('hash and consistent-hash send the same key to the same shard and use every shard', async (t) => {
  const upstreams = await shards(t);
  const gw = await startTestGateway(t, {
    upstreams,
    routes: [
      {
        name: 'by-hash',
        match: { path: '/h/accounts/:account/*' },
        shard: {
          key: { param: 'account' },
          strategy: 'hash',
          upstreams: ['s0', 's1', 's2'],
          stripPrefix: '/h',
        },
      },
      {
        name: 'by-jump',
        match: { path: '/j/*' },
        shard: { key: { header: 'x-tenant' }, strategy: 'consistent-hash', upstreams: ['s0', 's1', 's2'] },
      },
    ],
  });
  const first = await get(gw.url('/h/accounts/acme/orders'));
  assert.equal(first.status, 200);
  assert.equal(first.body.url, '/accounts/acme/orders');
  for (let i = 0; i < 3; i++)
    assert.equal((await get(gw.url('/h/accounts/acme/x'))).body.shard, first.body.shard);
  const used = new Set<string>();
  for (let i = 0; i < 40; i++) {
    used.add((await get(gw.url(`/h/accounts/a${i}/x`))).body.shard!);
    used.add((await get(gw.url('/j/x'), { 'x-tenant': `t${i}` })).body.shard!);
  }
  assert.deepEqual([...used].sort(), ['s0', 's1', 's2']);
  const tenant = (await get(gw.url('/j/x'), { 'x-tenant': 'acme' })).body.shard;
  assert.equal((await get(gw.url('/j/y'), { 'x-tenant': 'acme' })).body.shard, tenant);

  const missing = await get(gw.url('/j/x'));
  assert.equal(missing.status, 400);
  assert.equal(missing.body.code, 'shard_key_missing');
});

test('range routing: the first range whose upTo is at least the key; numbers compare as numbers', async (t) => {
  const upstreams = await shards(t);
  const gw = await startTestGateway(t, {
    upstreams,
    routes: [
      {
        name: 'letters',
        match: { path: '/users/:name' },
        shard: {
          key: { param: 'name' },
          strategy: 'range',
          ranges: [{ upTo: 'm', upstream: 's0' }, { upstream: 's1' }],
        },
      },
      {
        name: 'numbers',
        match: { path: '/orders/:id' },
        shard: {
          key: { param: 'id' },
          strategy: 'range',
          ranges: [
            { upTo: 999, upstream: 's0' },
            { upTo: 99999, upstream: 's1' },
          ],
        },
      },
    ],
  });
  assert.equal((await get(gw.url('/users/alice'))).body.shard, 's0');
  assert.equal((await get(gw.url('/users/m'))).body.shard, 's0');
  assert.equal((await get(gw.url('/users/zoe'))).body.shard, 's1');
  assert.equal((await get(gw.url('/orders/42'))).body.shard, 's0');
  assert.equal((await get(gw.url('/orders/1000'))).body.shard, 's1'); // as strings "1000" < "999"
  const beyond = await get(gw.url('/orders/123456'));
  assert.equal(beyond.status, 404);
  assert.equal(beyond.body.code, 'shard_not_found');
});

test('a directory route follows the assignments made through the admin API', async (t) => {
  const upstreams = await shards(t);
  const gw = await startTestGateway(t, {
    upstreams,
    routes: [
      {
        name: 'tenants',
        match: { path: '/t/*' },
        shard: { key: { header: 'x-tenant' }, strategy: 'directory', directory: { default: 's0' } },
      },
      {
        name: 'strict',
        match: { path: '/s/*' },
        shard: { key: { header: 'x-tenant' }, strategy: 'directory', directory: { cacheMs: 0 } },
      },
      { name: 'plain', match: { path: '/p' }, respond: { status: 200 } },
    ],
  });
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(gw.adminUrl(`/admin/v1${path}`), {
      method,
      headers: { ...gw.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  assert.equal((await get(gw.url('/t/x'), { 'x-tenant': 'acme' })).body.shard, 's0'); // default
  const put = await admin('PUT', '/shards/tenants/acme', { upstream: 's2' });
  assert.equal(put.status, 200);
  assert.equal(((await put.json()) as { upstream: string }).upstream, 's2');
  assert.equal(
    (await get(gw.url('/t/x'), { 'x-tenant': 'acme' })).body.shard,
    's2',
    'the edit is seen at once',
  );
  assert.equal((await get(gw.url('/t/x'), { 'x-tenant': 'other' })).body.shard, 's0');

  await admin('PUT', '/shards/tenants/beta', { upstream: 's1' });
  const list = (await (await admin('GET', '/shards/tenants?limit=1')).json()) as {
    data: { key: string }[];
    next_cursor: string;
  };
  assert.deepEqual(
    list.data.map((e) => e.key),
    ['acme'],
  );
  const rest = (await (await admin('GET', `/shards/tenants?limit=1&cursor=${list.next_cursor}`)).json()) as {
    data: { key: string }[];
  };
  assert.deepEqual(
    rest.data.map((e) => e.key),
    ['beta'],
  );

  assert.equal((await admin('DELETE', '/shards/tenants/acme')).status, 204);
  assert.equal((await get(gw.url('/t/x'), { 'x-tenant': 'acme' })).body.shard, 's0');
  assert.equal((await admin('DELETE', '/shards/tenants/acme')).status, 404);

  const noDefault = await get(gw.url('/s/x'), { 'x-tenant': 'acme' });
  assert.equal(noDefault.status, 404);
  assert.equal(noDefault.body.code, 'shard_not_found');

  assert.equal((await admin('PUT', '/shards/tenants/x', { upstream: 'nope' })).status, 400);
  assert.equal((await admin('PUT', '/shards/plain/x', { upstream: 's0' })).status, 404);
  assert.equal((await admin('PUT', '/shards/tenants/x', { upstream: 's0', extra: 1 })).status, 400);
});

test('shard config mistakes are refused at load with their path', async (t) => {
  const upstreams = await shards(t);
  await assert.rejects(
    startTestGateway(t, {
      upstreams,
      routes: [
        { name: 'a', match: { path: '/a/:id' }, shard: { key: { param: 'id' }, strategy: 'hash' } },
        {
          name: 'b',
          match: { path: '/b' },
          shard: { key: { param: 'id' }, strategy: 'hash', upstreams: ['s0', 'nope'] },
        },
      ],
    }),
    (err: Error) =>
      /\/routes\/0\/shard\/strategy {2}strategy hash needs shard.upstreams/.test(err.message) &&
      /\/routes\/1\/shard\/upstreams\/1 {2}no upstream named nope/.test(err.message) &&
      /\/routes\/1\/shard\/key\/param {2}the route path \/b has no :id/.test(err.message),
  );
});
