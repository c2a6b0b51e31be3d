/** The admin listener: auth, health, metrics, OpenAPI, config, revision pagination, problem answers. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeCursor } from '../src/admin/pagination.ts';
import { ADMIN_TOKEN, startTestGateway } from './helpers/gateway.ts';
import { startHeldUpstream, startUpstream } from './helpers/upstream.ts';

const respondRoute = { name: 'hello', match: { path: '/hello' }, respond: { status: 200, body: 'hi' } };

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  requestId?: string;
}

async function problemOf(res: Response, status: number, code: string): Promise<Problem> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = (await res.json()) as Problem;
  assert.equal(body.status, status);
  assert.equal(body.code, code);
  assert.equal(body.type, `https://github.com/junction-gateway/junction/blob/main/docs/errors.md#${code}`);
  assert.match(body.requestId ?? '', /^req_/);
  return body;
}

test('the admin API wants a bearer token: none → 401 with a Bearer challenge', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  const res = await fetch(gw.adminUrl('/admin/v1/config'));
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="junction-admin"');
  const body = await problemOf(res, 401, 'admin_unauthorized');
  assert.equal(body.detail, 'send Authorization: Bearer <admin token>');
});

test('a wrong admin token → 401 with error="invalid_token"', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  for (const authorization of [
    `Bearer ${ADMIN_TOKEN}x`,
    'Bearer short',
    `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
  ]) {
    const res = await fetch(gw.adminUrl('/admin/v1/config'), { headers: { authorization } });
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="junction-admin", error="invalid_token"');
    await problemOf(res, 401, 'admin_unauthorized');
  }
  // Another scheme is no token at all.
  const basic = await fetch(gw.adminUrl('/admin/v1/config'), {
    headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
  });
  assert.equal(basic.headers.get('www-authenticate'), 'Bearer realm="junction-admin"');
  await problemOf(basic, 401, 'admin_unauthorized');
});

test('the right admin token → 200 on every admin resource', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  for (const path of ['config', 'config/revisions', 'nodes', 'routes', 'upstreams']) {
    const res = await fetch(gw.adminUrl(`/admin/v1/${path}`), { headers: gw.auth });
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  }
  const routes = (await (await fetch(gw.adminUrl('/admin/v1/routes'), { headers: gw.auth })).json()) as {
    data: { name: string; handler: string }[];
  };
  assert.deepEqual(
    routes.data.map((r) => [r.name, r.handler]),
    [['hello', 'respond']],
  );
});

test('without a configured token the admin API is locked, and the log says why', async (t) => {
  const gw = await startTestGateway(t, { admin: {}, routes: [respondRoute] });
  assert.ok(
    gw.logs().some((l) => l.level === 'warn' && String(l.msg).startsWith('no admin token configured')),
  );
  assert.equal((await fetch(gw.adminUrl('/admin/v1/config'), { headers: gw.auth })).status, 200);
  const guess = await fetch(gw.adminUrl('/admin/v1/config'), {
    headers: { authorization: 'Bearer undefined' },
  });
  assert.equal(guess.status, 401);
});

test('/healthz and /readyz answer 200 without a token', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  const health = await fetch(gw.adminUrl('/healthz'));
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const ready = await fetch(gw.adminUrl('/readyz'));
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
});

test('/readyz answers 503 draining while the gateway drains', async (t) => {
  const { up, arrival, release } = await startHeldUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { slow: { targets: [up.url] } },
    routes: [{ name: 'slow', match: { path: '/slow' }, proxy: { upstream: 'slow' } }],
  });
  const inflight = fetch(gw.url('/slow'));
  await arrival;
  const closing = gw.gateway.close();
  const ready = await fetch(gw.adminUrl('/readyz'));
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), { status: 'not ready', reason: 'draining' });
  release();
  assert.equal((await inflight).status, 200);
  assert.deepEqual(await closing, { drained: true });
});

test('/metrics is Prometheus text with request and upstream connection counters after traffic', async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [{ name: 'app', match: { path: '/app/*' }, proxy: { upstream: 'app', stripPrefix: '/app' } }],
  });
  for (let i = 0; i < 3; i++) assert.equal((await fetch(gw.url('/app/x'))).status, 200);
  const res = await fetch(gw.adminUrl('/metrics'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /^# TYPE junction_requests_total counter$/m);
  assert.match(text, /^junction_requests_total\{route="app",upstream="app",status="200"\} 3$/m);
  assert.match(text, /^# TYPE junction_upstream_connections_opened_total counter$/m);
  // Three sequential requests over keep-alive: one connection.
  assert.match(text, /^junction_upstream_connections_opened_total\{upstream="app"\} 1$/m);
});

test('/admin/v1/openapi.json is OpenAPI 3.1 listing the admin paths', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  const res = await fetch(gw.adminUrl('/admin/v1/openapi.json'), { headers: gw.auth });
  assert.equal(res.status, 200);
  const doc = (await res.json()) as {
    openapi: string;
    info: { version: string };
    paths: Record<
      string,
      Record<string, { parameters?: { name: string; in: string; required?: boolean }[] }>
    >;
  };
  assert.equal(doc.openapi, '3.1.0');
  for (const path of [
    '/healthz',
    '/readyz',
    '/metrics',
    '/admin/v1/config',
    '/admin/v1/config/reload',
    '/admin/v1/config/revisions',
    '/admin/v1/nodes',
    '/admin/v1/routes',
    '/admin/v1/upstreams',
  ]) {
    assert.ok(path in doc.paths, `${path} is listed`);
  }
  assert.ok('post' in doc.paths['/admin/v1/config/reload']!);
  // `limit` has a default: a client may leave it out.
  const params = doc.paths['/admin/v1/config/revisions']!.get!.parameters!;
  const limit = params.find((p) => p.name === 'limit');
  assert.equal(limit?.in, 'query');
  assert.notEqual(limit?.required, true);
});

test('GET /admin/v1/config redacts admin.token, the store password and OTLP headers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'junction-admin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const gw = await startTestGateway(
    t,
    {
      routes: [respondRoute],
      // Not opened: JUNCTION_DATABASE_URL overrides it.
      store: { url: 'postgres://junction:pg-s3cret@db.invalid:5432/junction' },
      observability: {
        otlp: { endpoint: 'http://127.0.0.1:9/v1/traces', headers: { authorization: 'Bearer otlp-s3cret' } },
      },
    },
    { env: { JUNCTION_DATABASE_URL: `sqlite:${join(dir, 'j.db')}` } },
  );
  const res = await fetch(gw.adminUrl('/admin/v1/config'), { headers: gw.auth });
  assert.equal(res.status, 200);
  const text = await res.text();
  for (const secret of [ADMIN_TOKEN, 'pg-s3cret', 'otlp-s3cret']) assert.ok(!text.includes(secret), secret);
  const body = JSON.parse(text) as {
    revision: string;
    hash: string;
    config: {
      admin: { token: string };
      store: { url: string };
      observability: { otlp: { headers: Record<string, string> } };
      routes: unknown[];
    };
  };
  assert.match(body.revision, /^cfg_/);
  assert.match(body.hash, /^[0-9a-f]{64}$/);
  assert.equal(body.config.admin.token, '[redacted]');
  assert.equal(body.config.store.url, 'postgres://junction:redacted@db.invalid:5432/junction');
  assert.deepEqual(body.config.observability.otlp.headers, { authorization: '[redacted]' });
  assert.equal(body.config.routes.length, 1);
  // Redaction works on a copy: the running config keeps its token.
  assert.equal((await fetch(gw.adminUrl('/admin/v1/config'), { headers: gw.auth })).status, 200);
});

interface RevisionPage {
  data: { id: string; status: string; source: string; created_at: string }[];
  next_cursor: string | null;
}

test('revisions paginate by cursor: each exactly once, newest first, next_cursor null at the end', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  const { store, services } = gw.gateway;
  const startRevision = (
    (await (await fetch(gw.adminUrl('/admin/v1/config'), { headers: gw.auth })).json()) as {
      revision: string;
    }
  ).revision;
  const recorded: string[] = [];
  for (let i = 0; i < 65; i++) {
    const rev = await store.configRevisions.record({
      id: services.ids.next('cfg'),
      hash: `${i}`.padStart(64, '0'),
      status: i % 3 === 0 ? 'rejected' : 'applied',
      source: 'admin',
      appliedBy: 'test',
    });
    recorded.push(rev.id);
  }
  const expected = [...recorded].reverse().concat(startRevision);

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const qs: string = cursor === null ? 'limit=25' : `limit=25&cursor=${encodeURIComponent(cursor)}`;
    const res = await fetch(gw.adminUrl(`/admin/v1/config/revisions?${qs}`), { headers: gw.auth });
    assert.equal(res.status, 200);
    const page = (await res.json()) as RevisionPage;
    pages++;
    assert.ok(page.data.length <= 25);
    seen.push(...page.data.map((r) => r.id));
    cursor = page.next_cursor;
  } while (cursor !== null && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen, expected);

  // Without a limit: the default page of 50.
  const first = (await (
    await fetch(gw.adminUrl('/admin/v1/config/revisions'), { headers: gw.auth })
  ).json()) as RevisionPage;
  assert.equal(first.data.length, 50);
  assert.notEqual(first.next_cursor, null);

  // Exactly one page's worth: no next page.
  const all = (await (
    await fetch(gw.adminUrl('/admin/v1/config/revisions?limit=66'), { headers: gw.auth })
  ).json()) as RevisionPage;
  assert.equal(all.data.length, 66);
  assert.equal(all.next_cursor, null);

  // A status filter pages the same way.
  const rejected: string[] = [];
  cursor = null;
  do {
    const qs: string = `status=rejected&limit=10${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page = (await (
      await fetch(gw.adminUrl(`/admin/v1/config/revisions?${qs}`), { headers: gw.auth })
    ).json()) as RevisionPage;
    assert.ok(page.data.every((r) => r.status === 'rejected'));
    rejected.push(...page.data.map((r) => r.id));
    cursor = page.next_cursor;
  } while (cursor !== null);
  assert.deepEqual(rejected, recorded.filter((_, i) => i % 3 === 0).reverse());
});

test('limit=0 and limit=251 are 400 admin_validation', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  for (const limit of ['0', '251', 'ten', '-1']) {
    const res = await fetch(gw.adminUrl(`/admin/v1/config/revisions?limit=${limit}`), { headers: gw.auth });
    await problemOf(res, 400, 'admin_validation');
  }
  const ok = await fetch(gw.adminUrl('/admin/v1/config/revisions?limit=250'), { headers: gw.auth });
  assert.equal(ok.status, 200);
});

test('a garbage cursor and a cursor issued by another list are 400 cursor_invalid', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  const cursors = [
    'garbage',
    Buffer.from('{"v":1').toString('base64url'),
    encodeCursor('nodes', 'cfg_0000000000000'),
    Buffer.from(JSON.stringify({ v: 2, k: 'config_revisions', after: 'cfg_1' })).toString('base64url'),
  ];
  for (const cursor of cursors) {
    const res = await fetch(gw.adminUrl(`/admin/v1/config/revisions?cursor=${encodeURIComponent(cursor)}`), {
      headers: gw.auth,
    });
    await problemOf(res, 400, 'cursor_invalid');
  }
});

test('an unknown admin path is 404 admin_not_found', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  const res = await fetch(gw.adminUrl('/admin/v1/nope'), { headers: gw.auth });
  const body = await problemOf(res, 404, 'admin_not_found');
  assert.equal(body.detail, 'no admin resource at GET /admin/v1/nope');
});

test('Accept: application/xml on an admin error gets an RFC 9457 XML problem', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  const res = await fetch(gw.adminUrl('/admin/v1/nope'), {
    headers: { ...gw.auth, accept: 'application/xml' },
  });
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'application/problem+xml; charset=utf-8');
  const xml = await res.text();
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?><problem xmlns="urn:ietf:rfc:7807">/);
  assert.match(xml, /<status>404<\/status>/);
  assert.match(xml, /<code>admin_not_found<\/code>/);
  // The 401 too, with its challenge.
  const unauthorized = await fetch(gw.adminUrl('/admin/v1/config'), {
    headers: { accept: 'application/xml' },
  });
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.headers.get('content-type'), 'application/problem+xml; charset=utf-8');
  assert.equal(unauthorized.headers.get('www-authenticate'), 'Bearer realm="junction-admin"');
  assert.match(await unauthorized.text(), /<code>admin_unauthorized<\/code>/);
});

test('a malformed request body is a 400 problem, not a 500 (regression: empty JSON body on reload)', async (t) => {
  const gw = await startTestGateway(t, { routes: [respondRoute] });
  const empty = await fetch(gw.adminUrl('/admin/v1/config/reload'), {
    method: 'POST',
    headers: { ...gw.auth, 'content-type': 'application/json' },
  });
  await problemOf(empty, 400, 'bad_request');
  const broken = await fetch(gw.adminUrl('/admin/v1/config/reload'), {
    method: 'POST',
    headers: { ...gw.auth, 'content-type': 'application/json' },
    body: '{"oops',
  });
  await problemOf(broken, 400, 'bad_request');
  const tooLarge = await fetch(gw.adminUrl('/admin/v1/config/reload'), {
    method: 'POST',
    headers: { ...gw.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ pad: 'x'.repeat(1_100_000) }),
  });
  await problemOf(tooLarge, 413, 'payload_too_large');
  assert.ok(
    !gw.logs().some((l) => l.msg === 'admin request failed'),
    'client mistakes are not logged as failures',
  );
});
