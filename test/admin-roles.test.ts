/** Admin API roles (viewer < operator < admin), named tokens, tenant scoping and admin API keys. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuthGateway, startAuthGateway } from './helpers/auth.ts';

const TOKENS = {
  viewer: 'viewer-token-0123456789',
  operator: 'operator-token-0123456789',
  acme: 'acme-admin-token-0123456789',
  globex: 'globex-admin-token-0123456789',
};
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function setup(t: Parameters<typeof startAuthGateway>[0]): Promise<AuthGateway> {
  return startAuthGateway(
    t,
    {
      admin: {
        token: 'test-admin-token-0123456789',
        tokens: [
          { name: 'dashboards', token: TOKENS.viewer, role: 'viewer' },
          // `${ENV}` interpolation keeps the secret out of the file.
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a config-file reference, not a template.
          { name: 'ops', token: '${OPS_TOKEN}', role: 'operator' },
          { name: 'acme-admin', token: TOKENS.acme, role: 'admin', tenant: 'acme' },
          { name: 'globex-admin', token: TOKENS.globex, role: 'admin', tenant: 'globex' },
        ],
      },
      routes: [{ name: 'hello', match: { path: '/hello' }, respond: { status: 200, body: 'hi' } }],
    },
    { env: { OPS_TOKEN: TOKENS.operator } },
  );
}

async function code(res: Response): Promise<string | number> {
  if (res.status < 400) {
    await res.arrayBuffer();
    return res.status;
  }
  return ((await res.json()) as { code: string }).code;
}

test('a viewer may GET but not reload, assign shards or manage keys', async (t) => {
  const gw = await setup(t);
  const as = bearer(TOKENS.viewer);
  for (const path of ['/config', '/config/revisions', '/routes', '/upstreams', '/nodes']) {
    assert.equal(await code(await gw.admin('GET', path, undefined, as)), 200, path);
  }
  const reload = await gw.admin('POST', '/config/reload', undefined, as);
  assert.equal(reload.status, 403);
  const problem = (await reload.json()) as { code: string; detail: string };
  assert.equal(problem.code, 'admin_forbidden');
  assert.equal(problem.detail, 'the viewer role may not POST /admin/v1/config/reload; it needs operator');
  assert.equal(await code(await gw.admin('PUT', '/shards/r/k', { upstream: 'u' }, as)), 'admin_forbidden');
  assert.equal(await code(await gw.admin('GET', '/keys', undefined, as)), 'admin_forbidden');
  assert.equal(await code(await gw.admin('POST', '/keys', { name: 'x' }, as)), 'admin_forbidden');
  const denial = gw.audit.find((e) => e.reason === 'admin_forbidden:role_viewer');
  assert.deepEqual(denial?.actor, { kind: 'admin-token', id: 'dashboards' });
  assert.equal(denial?.resource, 'admin:POST /admin/v1/config/reload');
});

test('an operator may reload (recorded under its name) but not manage keys', async (t) => {
  const gw = await setup(t);
  const as = bearer(TOKENS.operator);
  const reload = await gw.admin('POST', '/config/reload', undefined, as);
  assert.equal(reload.status, 200);
  const { revision } = (await reload.json()) as { revision: string };
  const revisions = (await (await gw.admin('GET', '/config/revisions?limit=1', undefined, as)).json()) as {
    data: { id: string; applied_by: string }[];
  };
  assert.deepEqual(revisions.data[0], { ...revisions.data[0], id: revision, applied_by: 'admin:ops' });
  const audit = gw.audit.find((e) => e.action === 'admin.config.reload');
  assert.deepEqual(audit?.actor, { kind: 'admin-token', id: 'ops' });
  assert.equal(audit?.outcome, 'success');
  assert.equal(await code(await gw.admin('POST', '/keys', { name: 'x' }, as)), 'admin_forbidden');
  assert.equal(
    await code(await gw.admin('DELETE', '/keys/jk_0000000000000', undefined, as)),
    'admin_forbidden',
  );
});

test('named tokens are write-only: GET /config redacts every one', async (t) => {
  const gw = await setup(t);
  const body = await (await gw.admin('GET', '/config')).text();
  for (const token of Object.values(TOKENS)) assert.ok(!body.includes(token), token);
  const config = JSON.parse(body) as { config: { admin: { tokens: { name: string; token: string }[] } } };
  assert.deepEqual(
    config.config.admin.tokens.map((tk) => [tk.name, tk.token]),
    [
      ['dashboards', '[redacted]'],
      ['ops', '[redacted]'],
      ['acme-admin', '[redacted]'],
      ['globex-admin', '[redacted]'],
    ],
  );
});

test('a tenant-scoped admin sees and manages only its own tenant’s keys, and no global resource', async (t) => {
  const gw = await setup(t);
  const acme = bearer(TOKENS.acme);
  const globex = bearer(TOKENS.globex);
  const global = (await gw.createKey({ name: 'global' })).id;
  const mine = await gw.admin('POST', '/keys', { name: 'acme ci', roles: ['reader'] }, acme);
  assert.equal(mine.status, 201);
  const acmeKey = (await mine.json()) as { id: string; tenant: string; created_by: string };
  assert.equal(acmeKey.tenant, 'acme', 'the tenant comes from the token');
  assert.equal(acmeKey.created_by, 'acme-admin');
  assert.equal(
    await code(await gw.admin('POST', '/keys', { name: 'x', tenant: 'globex' }, acme)),
    'admin_forbidden',
  );
  const globexKey = (await (await gw.admin('POST', '/keys', { name: 'globex ci' }, globex)).json()) as {
    id: string;
  };

  const listed = (await (await gw.admin('GET', '/keys', undefined, acme)).json()) as {
    data: { id: string }[];
  };
  assert.deepEqual(
    listed.data.map((k) => k.id),
    [acmeKey.id],
  );
  const asked = (await (await gw.admin('GET', '/keys?tenant=globex', undefined, acme)).json()) as {
    data: unknown[];
  };
  assert.deepEqual(asked.data, []);
  for (const other of [global, globexKey.id]) {
    assert.equal(await code(await gw.admin('GET', `/keys/${other}`, undefined, acme)), 'admin_not_found');
    assert.equal(await code(await gw.admin('DELETE', `/keys/${other}`, undefined, acme)), 'admin_not_found');
  }
  assert.equal(await code(await gw.admin('GET', `/keys/${acmeKey.id}`, undefined, acme)), 200);
  assert.equal(await code(await gw.admin('DELETE', `/keys/${acmeKey.id}`, undefined, acme)), 200);
  assert.equal((await gw.gateway.store.apiKeys.get(global))?.revokedAt, null);
  assert.equal((await gw.gateway.store.apiKeys.get(globexKey.id))?.revokedAt, null);

  for (const [method, path] of [
    ['GET', '/config'],
    ['GET', '/routes'],
    ['POST', '/config/reload'],
  ] as const) {
    assert.equal(await code(await gw.admin(method, path, undefined, acme)), 'admin_forbidden', path);
  }
  // The global admin sees every tenant's keys.
  const all = (await (await gw.admin('GET', '/keys')).json()) as { data: unknown[] };
  assert.equal(all.data.length, 3);
});

test('an API key with a junction:* role may call the admin API with that role; other roles may not', async (t) => {
  const gw = await setup(t);
  const viewer = await gw.createKey({ name: 'dash', roles: ['junction:viewer'] });
  const operator = await gw.createKey({ name: 'deployer', roles: ['reader', 'junction:operator'] });
  const plainAdmin = await gw.createKey({ name: 'app admin', roles: ['admin'] });
  const tenantAdmin = await gw.createKey({ name: 'acme bot', roles: ['junction:admin'], tenant: 'acme' });

  assert.equal(await code(await gw.admin('GET', '/config', undefined, bearer(viewer.secret))), 200);
  assert.equal(
    await code(await gw.admin('POST', '/config/reload', undefined, bearer(viewer.secret))),
    'admin_forbidden',
  );
  assert.equal(await code(await gw.admin('POST', '/config/reload', undefined, bearer(operator.secret))), 200);
  assert.deepEqual(gw.audit.find((e) => e.action === 'admin.config.reload')?.actor, {
    kind: 'api-key',
    id: operator.id,
  });
  assert.equal(
    await code(await gw.admin('GET', '/config', undefined, bearer(plainAdmin.secret))),
    'admin_forbidden',
  );
  const created = await gw.admin('POST', '/keys', { name: 'made by a bot' }, bearer(tenantAdmin.secret));
  assert.equal(created.status, 201);
  assert.equal(((await created.json()) as { tenant: string }).tenant, 'acme');

  assert.equal(await code(await gw.admin('DELETE', `/keys/${viewer.id}`)), 200);
  const revoked = await gw.admin('GET', '/config', undefined, bearer(viewer.secret));
  assert.equal(revoked.status, 401, 'the admin API sees a revocation at once');
  assert.equal(
    revoked.headers.get('www-authenticate'),
    'Bearer realm="junction-admin", error="invalid_token"',
  );
  assert.equal(((await revoked.json()) as { code: string }).code, 'admin_unauthorized');
  const bogus = await gw.admin('GET', '/config', undefined, bearer(`${operator.secret.slice(0, -3)}abc`));
  assert.equal(bogus.status, 401);
  await bogus.arrayBuffer();
});

test('admin.apiKeys: false turns API keys away from the admin API', async (t) => {
  const gw = await startAuthGateway(t, {
    admin: { token: 'test-admin-token-0123456789', apiKeys: false },
    routes: [{ name: 'hello', match: { path: '/hello' }, respond: { status: 200 } }],
  });
  const key = await gw.createKey({ name: 'dash', roles: ['junction:admin'] });
  assert.equal(
    await code(await gw.admin('GET', '/config', undefined, bearer(key.secret))),
    'admin_unauthorized',
  );
});

test('tokens added by a reload work at once; removed ones stop working', async (t) => {
  const gw = await setup(t);
  const fresh = 'fresh-viewer-token-0123456789';
  assert.equal(await code(await gw.admin('GET', '/config', undefined, bearer(fresh))), 'admin_unauthorized');
  gw.writeConfig({
    admin: {
      token: 'test-admin-token-0123456789',
      tokens: [{ name: 'fresh', token: fresh, role: 'viewer' }],
    },
    routes: [{ name: 'hello', match: { path: '/hello' }, respond: { status: 200 } }],
  });
  assert.equal((await gw.gateway.reload('test')).status, 'applied');
  assert.equal(await code(await gw.admin('GET', '/config', undefined, bearer(fresh))), 200);
  assert.equal(
    await code(await gw.admin('GET', '/config', undefined, bearer(TOKENS.viewer))),
    'admin_unauthorized',
  );
});

test('an admin token shorter than 16 characters or with an unknown role is refused at load', async (t) => {
  await assert.rejects(
    startAuthGateway(t, {
      admin: { tokens: [{ name: 'weak', token: 'short', role: 'viewer' }] },
      routes: [{ name: 'hello', match: { path: '/hello' }, respond: { status: 200 } }],
    }),
    (err: unknown) => (err as { code?: string }).code === 'config_invalid',
  );
  await assert.rejects(
    startAuthGateway(t, {
      admin: { tokens: [{ name: 'x', token: 'long-enough-token-123', role: 'root' }] },
      routes: [{ name: 'hello', match: { path: '/hello' }, respond: { status: 200 } }],
    }),
    (err: unknown) => (err as { code?: string }).code === 'config_invalid',
  );
});
