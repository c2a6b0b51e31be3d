/**
 * `auth.abac` end to end (Q33): `auth.jwt` establishes the principal, Cedar decides. The seed's
 * example — an employee may edit a document they own, before 18:00 — on a real gateway. The hour is
 * made deterministic without touching the clock: each route takes the fixed-offset zone (`Etc/GMT±n`)
 * in which it is now 10:xx or 20:xx.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { SEED_POLICY } from './helpers/abac.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { sign, testKey } from './helpers/jwt.ts';
import { startUpstream } from './helpers/upstream.ts';

/** The fixed-offset zone in which the local hour is `hour` right now. */
function zoneWhereItIs(hour: number): string {
  const zones = ['Etc/GMT', ...Array.from({ length: 12 }, (_, i) => `Etc/GMT+${i + 1}`)];
  zones.push(...Array.from({ length: 14 }, (_, i) => `Etc/GMT-${i + 1}`));
  const now = new Date();
  const zone = zones.find(
    (timeZone) =>
      Number(
        new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' }).format(now),
      ) === hour,
  );
  assert.ok(zone, `no zone at ${hour}h`);
  return zone;
}

async function setup(t: TestContext) {
  const key = await testKey('RS256');
  const up = await startUpstream(t);
  const abacFor = (timeZone: string) => ({
    policies: SEED_POLICY,
    action: { methods: { PUT: 'edit', PATCH: 'edit', GET: 'view' } },
    resource: {
      type: 'Document',
      id: { param: 'id' },
      attributes: { owner: { param: 'ownerId', entity: 'User' } },
    },
    context: { timeZone },
  });
  const jwt = { keys: [{ alg: 'RS256', pem: key.pem }], algorithms: ['RS256'] };
  const route = (name: string, timeZone: string) => ({
    name,
    match: { path: `/${name}/users/:ownerId/documents/:id` },
    proxy: { upstream: 'app' },
    policies: { 'auth.jwt': jwt, 'auth.abac': abacFor(timeZone) },
  });
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      route('day', zoneWhereItIs(10)),
      route('evening', zoneWhereItIs(20)),
      {
        name: 'anonymous',
        match: { path: '/anonymous/users/:ownerId/documents/:id' },
        proxy: { upstream: 'app' },
        policies: { 'auth.abac': abacFor('UTC') },
      },
    ],
  });
  const employee = await sign(key, { sub: 'alice', employee: true });
  const put = (path: string, token?: string) =>
    fetch(gw.url(path), {
      method: 'PUT',
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      body: '{}',
    });
  return { key, up, gw, employee, put };
}

test('the owner, an employee, may edit before 18:00', async (t) => {
  const { up, employee, put } = await setup(t);
  const res = await put('/day/users/alice/documents/d-1', employee);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  assert.equal(up.seen.length, 1);
});

test('someone else’s document is forbidden, and the 403 names no policy', async (t) => {
  const { up, employee, put } = await setup(t);
  const res = await put('/day/users/bob/documents/d-2', employee);
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const text = await res.text();
  const problem = JSON.parse(text) as Record<string, unknown>;
  assert.equal(problem.code, 'forbidden');
  assert.equal(problem.title, 'Not allowed');
  assert.equal(problem.detail, undefined);
  for (const word of ['permit', 'employee', 'owner', 'hour', 'Document', 'quarantined', 'policy'])
    assert.ok(!text.includes(word), `the answer mentions ${word}: ${text}`);
  assert.equal(up.seen.length, 0);
});

test('the owner is forbidden after 18:00', async (t) => {
  const { up, employee, put } = await setup(t);
  const res = await put('/evening/users/alice/documents/d-1', employee);
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { code: string }).code, 'forbidden');
  assert.equal(up.seen.length, 0);
});

test('a non-employee owner is forbidden; viewing has no permit at all', async (t) => {
  const { key, put, gw, employee } = await setup(t);
  const contractor = await sign(key, { sub: 'alice', employee: false });
  assert.equal((await put('/day/users/alice/documents/d-1', contractor)).status, 403);
  const view = await fetch(gw.url('/day/users/alice/documents/d-1'), {
    headers: { authorization: `Bearer ${employee}` },
  });
  assert.equal(view.status, 403);
  await view.arrayBuffer();
});

test('without an authentication policy before it: 401 unauthenticated', async (t) => {
  const { put, employee } = await setup(t);
  const res = await put('/anonymous/users/alice/documents/d-1', employee);
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'unauthenticated');
});

test('invalid Cedar is refused when the config loads, naming the route and where in the text', async (t) => {
  await assert.rejects(
    startTestGateway(t, {
      routes: [
        {
          name: 'documents',
          match: { path: '/documents/:id' },
          respond: { status: 200 },
          policies: {
            'auth.abac': {
              policies: 'permit (principal, action, resource)\nwhen { principal.employee && };',
              resource: { type: 'Document', id: { param: 'id' } },
            },
          },
        },
      ],
    }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'config_invalid');
      assert.match(
        err.message,
        /junction\.yaml:\d+:\d+ {2}\/routes\/0\/policies\/auth\.abac {2}route documents: auth\.abac: policies: .*unexpected token `}` at 2:30/,
      );
      return true;
    },
  );
});
