/** `auth.api-key` end to end: keys made through the admin API, used on the proxy, revoked, expired. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { issueApiKey } from '../src/ingress/policies/api-key/index.ts';
import { startAuthGateway } from './helpers/auth.ts';
import { startUpstream } from './helpers/upstream.ts';

const KEY_TTL_MS = 300;

async function setup(t: Parameters<typeof startAuthGateway>[0]) {
  const up = await startUpstream(t);
  const gw = await startAuthGateway(t, {
    upstreams: { orders: { targets: [up.url] } },
    routes: [
      {
        name: 'orders',
        match: { path: '/orders' },
        proxy: { upstream: 'orders' },
        policies: { 'auth.api-key': { scopes: ['orders:read'], cacheTtlMs: KEY_TTL_MS } },
      },
      {
        name: 'orders-write',
        match: { path: '/orders/write' },
        proxy: { upstream: 'orders' },
        policies: { 'auth.api-key': { scopes: ['orders:read', 'orders:write'] } },
      },
      { name: 'open', match: { path: '/open' }, proxy: { upstream: 'orders' } },
    ],
  });
  return { up, gw };
}

async function problem(res: Response, status: number, code: string) {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = (await res.json()) as { code: string; detail?: string };
  assert.equal(body.code, code);
  return body;
}

test('a key created through the admin API opens the route, and the upstream learns who called', async (t) => {
  const { up, gw } = await setup(t);
  const created = await gw.admin('POST', '/keys', {
    name: 'billing service',
    scopes: ['orders:read'],
    roles: ['reader', 'billing'],
    tenant: 'acme',
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get('cache-control'), 'no-store');
  const key = (await created.json()) as Record<string, unknown> & { id: string; secret: string };
  assert.match(key.id, /^jk_[0-9A-Z]{13}$/);
  assert.match(key.secret, /^jk_[0-9a-z]{12}_[A-Za-z0-9_-]{43}$/);
  assert.equal(key.prefix, key.secret.slice(3, 15));
  assert.deepEqual(
    { ...key, id: undefined, secret: undefined, created_at: undefined },
    {
      id: undefined,
      secret: undefined,
      created_at: undefined,
      name: 'billing service',
      prefix: key.prefix,
      scopes: ['orders:read'],
      roles: ['reader', 'billing'],
      tenant: 'acme',
      expires_at: null,
      revoked_at: null,
      created_by: 'default',
      last_used_at: null,
    },
  );

  const res = await fetch(gw.url('/orders'), { headers: { 'x-api-key': key.secret } });
  assert.equal(res.status, 200);
  const seen = up.seen.at(-1)!.headers;
  assert.equal(seen['x-junction-principal'], key.id);
  assert.equal(seen['x-junction-roles'], 'reader,billing');
  assert.equal(seen['x-junction-tenant'], 'acme');
  assert.equal(seen['x-junction-scopes'], 'orders:read');
  assert.equal(seen['x-api-key'], undefined, 'the key is the gateway’s credential, not the upstream’s');

  // Shown once: reading the key back never gives the secret or its digest. Last use is written
  // off the request path, so it may take a moment to appear.
  let again: Record<string, unknown> = {};
  for (let i = 0; i < 50 && !again.last_used_at; i++) {
    if (i > 0) await sleep(20);
    again = (await (await gw.admin('GET', `/keys/${key.id}`)).json()) as Record<string, unknown>;
  }
  assert.equal(again.secret, undefined);
  assert.equal(again.hash, undefined);
  assert.ok(!JSON.stringify(again).includes(key.secret.slice(16)));
  assert.match(String(again.last_used_at), /^\d{4}-/, 'last use recorded');

  const audit = gw.audit.filter((e) => e.action === 'admin.key.create');
  assert.equal(audit.length, 1);
  assert.deepEqual(audit[0]?.actor, { kind: 'admin-token', id: 'default' });
  assert.equal(audit[0]?.resource, key.id);
  assert.ok(!JSON.stringify(gw.audit).includes(key.secret), 'no secret in the audit log');
  assert.ok(!JSON.stringify(gw.logs()).includes(key.secret), 'no secret in the logs');
});

test('Authorization: Bearer jk_… works as well and is not forwarded', async (t) => {
  const { up, gw } = await setup(t);
  const { id, secret } = await gw.createKey({ name: 'k', scopes: ['orders:read'] });
  const res = await fetch(gw.url('/orders'), { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(res.status, 200);
  assert.equal(up.seen.at(-1)!.headers['x-junction-principal'], id);
  assert.equal(up.seen.at(-1)!.headers.authorization, undefined);
});

test('a client’s own x-junction-* headers never reach the upstream, with or without a key', async (t) => {
  const { up, gw } = await setup(t);
  const { id, secret } = await gw.createKey({ name: 'k', scopes: ['orders:read'], roles: ['reader'] });
  const spoofed = {
    'x-junction-principal': 'jk_0000000000000',
    'x-junction-roles': 'admin',
    'x-junction-tenant': 'globex',
    'x-junction-anything': 'x',
  };
  assert.equal(
    (await fetch(gw.url('/orders'), { headers: { ...spoofed, 'x-api-key': secret } })).status,
    200,
  );
  const withKey = up.seen.at(-1)!.headers;
  assert.equal(withKey['x-junction-principal'], id);
  assert.equal(withKey['x-junction-roles'], 'reader');
  assert.equal(withKey['x-junction-tenant'], undefined, 'a key without a tenant forwards none');
  assert.equal(withKey['x-junction-anything'], undefined);

  assert.equal((await fetch(gw.url('/open'), { headers: spoofed })).status, 200);
  const open = up.seen.at(-1)!.headers;
  for (const name of Object.keys(spoofed)) assert.equal(open[name], undefined, name);
});

test('no key or a wrong key → 401 with a WWW-Authenticate challenge; the upstream is never called', async (t) => {
  const { up, gw } = await setup(t);
  const { secret } = await gw.createKey({ name: 'k', scopes: ['orders:read'] });
  const missing = await fetch(gw.url('/orders'));
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="junction"');
  await problem(missing, 401, 'api_key_missing');
  for (const wrong of [`${secret.slice(0, -2)}xx`, `jk_zzzzzzzzzzzz_${'Q'.repeat(43)}`, "' OR 1=1 --"]) {
    const res = await fetch(gw.url('/orders'), { headers: { 'x-api-key': wrong } });
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="junction", error="invalid_token"');
    const body = await problem(res, 401, 'api_key_invalid');
    assert.equal(body.detail, 'the API key is not valid');
  }
  assert.equal(up.seen.length, 0);
  assert.deepEqual(
    gw.audit.filter((e) => e.action === 'auth.deny').map((e) => e.reason),
    ['api_key_missing', 'api_key_invalid:mismatch', 'api_key_invalid:unknown', 'api_key_invalid:malformed'],
  );
});

test('a key missing a scope the route requires → 403 api_key_scope', async (t) => {
  const { up, gw } = await setup(t);
  const { secret } = await gw.createKey({ name: 'reader', scopes: ['orders:read'] });
  const res = await fetch(gw.url('/orders/write'), { headers: { 'x-api-key': secret } });
  assert.equal(
    res.headers.get('www-authenticate'),
    'Bearer realm="junction", error="insufficient_scope", scope="orders:read orders:write"',
  );
  await problem(res, 403, 'api_key_scope');
  assert.equal(up.seen.length, 0);
});

test('a revoked key is refused within the route’s cacheTtlMs', async (t) => {
  const { gw } = await setup(t);
  const { id, secret } = await gw.createKey({ name: 'k', scopes: ['orders:read'] });
  assert.equal((await fetch(gw.url('/orders'), { headers: { 'x-api-key': secret } })).status, 200);
  const revoked = await gw.admin('DELETE', `/keys/${id}`);
  assert.equal(revoked.status, 200);
  assert.match(String(((await revoked.json()) as { revoked_at: string }).revoked_at), /^\d{4}-/);
  const at = Date.now();
  let status = 200;
  while (status === 200) {
    status = (await fetch(gw.url('/orders'), { headers: { 'x-api-key': secret } })).status;
    if (status === 200) await sleep(20);
    assert.ok(Date.now() - at < KEY_TTL_MS + 500, 'refused within the TTL');
  }
  assert.equal(status, 401);
  const audit = gw.audit.filter((e) => e.action === 'admin.key.revoke');
  assert.equal(audit.length, 1);
  const [entry] = audit as [(typeof audit)[number]];
  assert.equal((entry.before as { revoked_at: unknown }).revoked_at, null);
  assert.match(String((entry.after as { revoked_at: unknown }).revoked_at), /^\d{4}-/);
  // Revoking again changes nothing and records nothing.
  assert.equal((await gw.admin('DELETE', `/keys/${id}`)).status, 200);
  assert.equal(gw.audit.filter((e) => e.action === 'admin.key.revoke').length, 1);
});

test('an expired key is refused, and the admin API will not create one that is already expired', async (t) => {
  const { gw } = await setup(t);
  const { secret } = await issueApiKey(gw.gateway.store.apiKeys, gw.gateway.services.ids, {
    name: 'old',
    scopes: ['orders:read'],
    roles: [],
    expiresAt: Date.now() - 1,
  });
  const res = await fetch(gw.url('/orders'), { headers: { 'x-api-key': secret } });
  await problem(res, 401, 'api_key_invalid');
  assert.equal(gw.audit.at(-1)?.reason, 'api_key_invalid:expired');
  const past = await gw.admin('POST', '/keys', {
    name: 'x',
    expires_at: new Date(Date.now() - 1000).toISOString(),
  });
  await problem(past, 400, 'admin_validation');
  const soon = await gw.createKey({
    name: 'soon',
    scopes: ['orders:read'],
    expires_at: new Date(Date.now() + 60_000).toISOString(),
  });
  assert.equal((await fetch(gw.url('/orders'), { headers: { 'x-api-key': soon.secret } })).status, 200);
});

test('keys list newest first by cursor, without secrets; unknown ids and injection payloads are 404 or empty', async (t) => {
  const { gw } = await setup(t);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++)
    ids.push((await gw.createKey({ name: `k${i}`, tenant: i % 2 ? 'acme' : undefined })).id);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await gw.admin('GET', `/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200);
    const page = (await res.json()) as { data: Record<string, unknown>[]; next_cursor: string | null };
    for (const k of page.data) {
      assert.equal(k.secret, undefined);
      assert.equal(k.hash, undefined);
      seen.push(String(k.id));
    }
    cursor = page.next_cursor;
  } while (cursor !== null);
  assert.deepEqual(seen, [...ids].reverse());
  const acme = (await (await gw.admin('GET', '/keys?tenant=acme')).json()) as { data: { id: string }[] };
  assert.deepEqual(
    acme.data.map((k) => k.id),
    [ids[3], ids[1]],
  );
  for (const payload of ["acme' OR '1'='1", "'); DROP TABLE api_keys;--"]) {
    const list = (await (await gw.admin('GET', `/keys?tenant=${encodeURIComponent(payload)}`)).json()) as {
      data: unknown[];
    };
    assert.deepEqual(list.data, []);
    await problem(await gw.admin('GET', `/keys/${encodeURIComponent(payload)}`), 404, 'admin_not_found');
    await problem(await gw.admin('DELETE', `/keys/${encodeURIComponent(payload)}`), 404, 'admin_not_found');
  }
  assert.equal(((await (await gw.admin('GET', '/keys')).json()) as { data: unknown[] }).data.length, 5);
  await problem(await gw.admin('POST', '/keys', { name: 'x', roles: ['a,b'] }), 400, 'admin_validation');
  await problem(await gw.admin('POST', '/keys', { name: 'x', secret: 'mine' }), 400, 'admin_validation');
});
