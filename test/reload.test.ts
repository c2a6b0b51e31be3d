/** Config reload: by file watch and by the admin API; invalid files rejected; in-flight and pools kept. */
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { stringify } from 'yaml';
import { startTestGateway, type TestGateway, withTestDefaults } from './helpers/gateway.ts';
import { startHeldUpstream, startUpstream, type TestUpstream } from './helpers/upstream.ts';

const respond = (name: string, path: string, body: string) => ({
  name,
  match: { path },
  respond: { status: 200, body },
});

/** Polls `check` until it returns true; the test's own timeout bounds the wait. */
async function eventually(check: () => Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function reloadByAdmin(gw: TestGateway): Promise<Response> {
  return fetch(gw.adminUrl('/admin/v1/config/reload'), { method: 'POST', headers: gw.auth });
}

async function revisions(
  gw: TestGateway,
  query = '',
): Promise<{ id: string; status: string; error: string | null }[]> {
  const res = await fetch(gw.adminUrl(`/admin/v1/config/revisions${query}`), { headers: gw.auth });
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: { id: string; status: string; error: string | null }[] }).data;
}

/** An upstream that answers `name` and keeps idle connections for a minute (no pool churn in tests). */
async function namedUpstream(t: TestContext, name: string): Promise<TestUpstream> {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(name) });
    res.end(name);
  });
  up.server.keepAliveTimeout = 60_000;
  return up;
}

/** An upstream that holds every request until `release`, then answers with its name. */
async function heldUpstream(t: TestContext, name: string) {
  const h = await startHeldUpstream(t);
  return { up: h.up, arrival: h.arrival, release: () => h.release(name) };
}

const text = async (res: Response) => ({ status: res.status, body: await res.text() });

test('with reload.watch, editing the file swaps the config: an added route becomes reachable', async (t) => {
  const base = { reload: { watch: true }, routes: [respond('a', '/a', 'A')] };
  const gw = await startTestGateway(t, base);
  assert.deepEqual(await text(await fetch(gw.url('/a'))), { status: 200, body: 'A' });
  assert.equal((await fetch(gw.url('/b'))).status, 404);

  gw.writeConfig({ ...base, routes: [respond('a', '/a', 'A'), respond('b', '/b', 'B')] });
  await eventually(async () => (await fetch(gw.url('/b'))).status === 200, 'the route added to the file');
  assert.deepEqual(await text(await fetch(gw.url('/b'))), { status: 200, body: 'B' });
  assert.deepEqual(await text(await fetch(gw.url('/a'))), { status: 200, body: 'A' });
  await eventually(
    async () => (await revisions(gw, '?status=applied')).length >= 2,
    'the reload recorded as an applied revision',
  );
  await eventually(
    async () => gw.logs().some((l) => l.msg === 'config reloaded' && l.by === 'file'),
    'the reload log line',
  );
});

test('with reload.watch, an editor-style save (write a temp file, rename it over) is picked up, twice', async (t) => {
  const base = { reload: { watch: true }, routes: [respond('a', '/a', 'A')] };
  const gw = await startTestGateway(t, base);
  const save = (config: Record<string, unknown>) => {
    const tmp = join(gw.dir, '.junction.yaml.swp');
    writeFileSync(tmp, stringify(withTestDefaults(config, gw.dir)));
    renameSync(tmp, gw.configFile);
  };
  save({ ...base, routes: [respond('a', '/a', 'A2')] });
  await eventually(async () => (await (await fetch(gw.url('/a'))).text()) === 'A2', 'the first save');
  // The file's inode changed; the watch must still follow the name.
  save({ ...base, routes: [respond('a', '/a', 'A3')] });
  await eventually(async () => (await (await fetch(gw.url('/a'))).text()) === 'A3', 'the second save');
});

test('with reload.watch, an invalid edit is rejected and the old config keeps serving', async (t) => {
  const base = { reload: { watch: true }, routes: [respond('a', '/a', 'A')] };
  const gw = await startTestGateway(t, base);
  gw.writeConfig({
    ...base,
    routes: [{ name: 'a', match: { path: '/a' }, respond: { status: 200 }, oops: 1 }],
  });
  await eventually(async () => (await revisions(gw, '?status=rejected')).length > 0, 'a rejected revision');
  assert.deepEqual(await text(await fetch(gw.url('/a'))), { status: 200, body: 'A' });
  await eventually(
    async () => gw.logs().some((l) => l.msg === 'config rejected; the previous config keeps running'),
    'the rejection log line',
  );
});

test('POST /admin/v1/config/reload applies the file and answers {status: applied, revision}', async (t) => {
  const gw = await startTestGateway(t, { routes: [respond('a', '/a', 'A')] });
  const before = await revisions(gw);
  assert.equal(before.length, 1);
  gw.writeConfig({ routes: [respond('a', '/a', 'A2'), respond('b', '/b', 'B')] });
  // reload.watch is off: nothing changes until asked.
  assert.deepEqual(await text(await fetch(gw.url('/a'))), { status: 200, body: 'A' });

  const res = await reloadByAdmin(gw);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: string; revision: string; hash: string };
  assert.equal(body.status, 'applied');
  assert.match(body.revision, /^cfg_/);
  assert.match(body.hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(await text(await fetch(gw.url('/a'))), { status: 200, body: 'A2' });
  assert.deepEqual(await text(await fetch(gw.url('/b'))), { status: 200, body: 'B' });

  const after = await revisions(gw);
  assert.deepEqual(
    after.map((r) => [r.id, r.status]),
    [
      [body.revision, 'applied'],
      [before[0]!.id, 'applied'],
    ],
  );
  const current = (await (await fetch(gw.adminUrl('/admin/v1/config'), { headers: gw.auth })).json()) as {
    revision: string;
    hash: string;
  };
  assert.deepEqual([current.revision, current.hash], [body.revision, body.hash]);
});

test('reload of an invalid file: 422 config_invalid with issues, old config serving, rejected revision', async (t) => {
  const gw = await startTestGateway(t, { routes: [respond('a', '/a', 'A')] });
  const good = (await (await fetch(gw.adminUrl('/admin/v1/config'), { headers: gw.auth })).json()) as {
    revision: string;
  };
  // Line 2 col 3 is `bogus`; `upstream: ghost` is a reference error found at compile time.
  gw.writeConfig(
    [
      'listeners: { proxy: { host: 127.0.0.1, port: 0 }, admin: { host: 127.0.0.1, port: 0 } }',
      'reload: { watch: false, bogus: 1 }',
      'routes:',
      '  - name: a',
      '    match: { path: /a }',
      '    respond: { status: 200, body: broken }',
    ].join('\n'),
  );
  const res = await reloadByAdmin(gw);
  assert.equal(res.status, 422);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const problem = (await res.json()) as {
    code: string;
    status: number;
    revision: string;
    issues: { file: string; line: number; col: number; path: string; message: string }[];
  };
  assert.equal(problem.code, 'config_invalid');
  assert.equal(problem.status, 422);
  assert.deepEqual(problem.issues, [
    { file: gw.configFile, line: 2, col: 25, path: '/reload/bogus', message: 'unknown key' },
  ]);
  assert.match(problem.revision, /^cfg_/);

  assert.deepEqual(await text(await fetch(gw.url('/a'))), { status: 200, body: 'A' });
  const rejected = await revisions(gw, '?status=rejected');
  assert.deepEqual(
    rejected.map((r) => r.id),
    [problem.revision],
  );
  assert.equal(rejected[0]!.error, `${gw.configFile}:2:25  /reload/bogus  unknown key`);
  // The running config is still the one that was applied.
  const current = (await (await fetch(gw.adminUrl('/admin/v1/config'), { headers: gw.auth })).json()) as {
    revision: string;
  };
  assert.equal(current.revision, good.revision);

  // A reference error (compile time) is rejected the same way, with its position.
  gw.writeConfig({ routes: [{ name: 'a', match: { path: '/a' }, proxy: { upstream: 'ghost' } }] });
  const res2 = await reloadByAdmin(gw);
  assert.equal(res2.status, 422);
  const problem2 = (await res2.json()) as { issues: { path: string; message: string; line: number }[] };
  assert.deepEqual(
    problem2.issues.map((i) => [i.path, i.message]),
    [['/routes/0/proxy/upstream', 'no upstream named ghost (defined: none)']],
  );
  assert.deepEqual(await text(await fetch(gw.url('/a'))), { status: 200, body: 'A' });
});

test('in-flight requests finish on the old config; new requests use the new one', async (t) => {
  const a = await heldUpstream(t, 'from A');
  const b = await namedUpstream(t, 'from B');
  const gw = await startTestGateway(t, {
    upstreams: { a: { targets: [a.up.url] } },
    routes: [{ name: 'r', match: { path: '/r' }, proxy: { upstream: 'a' } }],
  });
  const slow = fetch(gw.url('/r')).then(text);
  await a.arrival;

  gw.writeConfig({
    upstreams: { b: { targets: [b.url] } },
    routes: [{ name: 'r', match: { path: '/r' }, proxy: { upstream: 'b' } }],
  });
  const res = await reloadByAdmin(gw);
  assert.equal(res.status, 200);
  assert.deepEqual(await text(await fetch(gw.url('/r'))), { status: 200, body: 'from B' });

  // Upstream A is gone from the config, but its pool lets the request it carries finish.
  a.release();
  assert.deepEqual(await slow, { status: 200, body: 'from A' });
  assert.equal(a.up.seen.length, 1);
  assert.equal(b.seen.length, 1);
});

interface UpstreamView {
  name: string;
  targets: { origin: string; connectionsOpened: number; requestsSent: number }[];
}

async function upstreamStats(gw: TestGateway, name: string) {
  const res = await fetch(gw.adminUrl('/admin/v1/upstreams'), { headers: gw.auth });
  const { data } = (await res.json()) as { data: UpstreamView[] };
  const target = data.find((u) => u.name === name)!.targets[0]!;
  return { opened: target.connectionsOpened, sent: target.requestsSent };
}

test('an unchanged upstream keeps its connection pool across a reload', async (t) => {
  const up = await namedUpstream(t, 'app');
  const upstreams = { app: { targets: [up.url], pool: { keepAliveTimeoutMs: 60_000 } } };
  const route = { name: 'app', match: { path: '/app' }, proxy: { upstream: 'app' } };
  const gw = await startTestGateway(t, { upstreams, routes: [route] });
  for (let i = 0; i < 3; i++) assert.equal((await fetch(gw.url('/app'))).status, 200);
  assert.deepEqual(await upstreamStats(gw, 'app'), { opened: 1, sent: 3 });

  // Another route changes; the upstream does not.
  gw.writeConfig({ upstreams, routes: [route, respond('other', '/other', 'o')] });
  assert.equal((await reloadByAdmin(gw)).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await fetch(gw.url('/app'))).status, 200);
  assert.deepEqual(await upstreamStats(gw, 'app'), { opened: 1, sent: 6 });
  assert.equal(up.seen.length, 6);

  // Control: changing the upstream's pool settings builds a new pool.
  const changed = { app: { targets: [up.url], pool: { keepAliveTimeoutMs: 60_000, connections: 4 } } };
  gw.writeConfig({ upstreams: changed, routes: [route] });
  assert.equal((await reloadByAdmin(gw)).status, 200);
  assert.equal((await fetch(gw.url('/app'))).status, 200);
  assert.deepEqual(await upstreamStats(gw, 'app'), { opened: 1, sent: 1 });
});
