/**
 * The audit log end to end (Q50): a running gateway records its start and config reloads, the admin
 * API lists, filters and verifies them, and `junction audit verify` exits 0 or 1 on a real database.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { sql } from 'kysely';
import { seedChain } from '../src/audit/testing.ts';
import { PG_TEST_URL, targets } from '../src/store/testing.ts';
import { ROOT, runCli } from './helpers/cli.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

interface AuditView {
  id: string;
  seq: number;
  at: string;
  actor: { kind: string | null; id: string } | null;
  action: string;
  outcome: string;
  resource: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
  hash: string;
}

const base = { routes: [{ name: 'a', match: { path: '/a' }, respond: { status: 200, body: 'A' } }] };

async function admin(gw: TestGateway, path: string) {
  await gw.gateway.services.audit.flush();
  const res = await fetch(gw.adminUrl(`/admin/v1${path}`), { headers: gw.auth });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function list(gw: TestGateway, query = '') {
  const { status, body } = await admin(gw, `/audit${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body as { data: AuditView[]; next_cursor: string | null };
}

test('a config reload, applied or rejected, is recorded and visible at /admin/v1/audit', async (t) => {
  const gw = await startTestGateway(t, base);
  const [start] = (await list(gw, '?action=gateway.start')).data;
  assert.equal(start?.outcome, 'success');
  assert.equal(start?.actor?.kind, 'system');

  gw.writeConfig({
    routes: [...base.routes, { name: 'b', match: { path: '/b' }, respond: { status: 200 } }],
  });
  const applied = await fetch(gw.adminUrl('/admin/v1/config/reload'), { method: 'POST', headers: gw.auth });
  assert.equal(applied.status, 200);
  const { revision } = (await applied.json()) as { revision: string };
  gw.writeConfig('routes: [ {');
  assert.equal((await gw.gateway.reload('file')).status, 'rejected');

  const reloads = (await list(gw, '?action=config.reload')).data;
  assert.deepEqual(
    reloads.map((r) => [r.outcome, r.actor?.kind, r.actor?.id, r.reason]),
    [
      ['failure', 'system', 'file', 'config_invalid'],
      ['success', 'admin', 'default', null],
    ],
    'newest first',
  );
  assert.equal((reloads[1]!.after as { revision: string }).revision, revision);
  assert.deepEqual((reloads[0]!.before as { revision: string }).revision, revision);
  assert.equal(reloads[1]!.resource, gw.configFile);

  const failures = (await list(gw, '?outcome=failure')).data;
  assert.ok(failures.length >= 1 && failures.every((r) => r.outcome === 'failure'));
  const one = await admin(gw, `/audit/${reloads[1]!.id}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, reloads[1]);
  const verified = await admin(gw, '/audit/verify');
  assert.equal(verified.status, 200);
  assert.equal(verified.body.intact, true);
});

test('key issue and revoke, a failed authentication and an authorization denial land in the stored log', async (t) => {
  const gw = await startTestGateway(t, {
    routes: [
      {
        name: 'orders',
        match: { path: '/orders' },
        respond: { status: 200 },
        policies: { 'auth.api-key': {}, 'auth.rbac': { allow: { clerk: ['GET'] } } },
      },
    ],
  });
  const created = await fetch(gw.adminUrl('/admin/v1/keys'), {
    method: 'POST',
    headers: { ...gw.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'reader', roles: ['reader'] }),
  });
  assert.equal(created.status, 201);
  const key = (await created.json()) as { id: string; secret: string };
  const wrong = await fetch(gw.url('/orders'), {
    headers: { 'x-api-key': 'jk_nottherightkeyatall', 'x-forwarded-for': '203.0.113.9' },
  });
  assert.equal(wrong.status, 401);
  const denied = await fetch(gw.url('/orders'), { headers: { 'x-api-key': key.secret } });
  assert.equal(denied.status, 403);
  const revoked = await fetch(gw.adminUrl(`/admin/v1/keys/${key.id}`), {
    method: 'DELETE',
    headers: gw.auth,
  });
  assert.ok(revoked.ok, String(revoked.status));

  const records = (await list(gw, '?limit=100')).data;
  const find = (action: string, outcome: string) =>
    records.find((r) => r.action === action && r.outcome === outcome);
  assert.equal(find('admin.key.create', 'success')?.resource, key.id);
  assert.equal(find('admin.key.revoke', 'success')?.resource, key.id);
  const failedAuth = records.filter((r) => r.action === 'auth.deny' && r.actor?.id !== key.id);
  assert.ok(failedAuth.length >= 1, JSON.stringify(records.map((r) => [r.action, r.outcome, r.actor])));
  const denial = records.find((r) => r.action === 'auth.deny' && r.actor?.id === key.id);
  assert.ok(denial, 'the RBAC denial names the key as the actor');
  assert.ok(!JSON.stringify(records).includes(key.secret.slice(16)), 'no secret in the log');
  assert.equal((await admin(gw, '/audit/verify')).body.intact, true);
});

test('the admin list pages with a cursor and filters by actor and time range', async (t) => {
  const gw = await startTestGateway(t, base);
  for (let i = 0; i < 5; i++)
    gw.gateway.services.audit.record({
      action: 'test.event',
      outcome: 'allow',
      actor: { kind: 'k', id: `a${i % 2}` },
    });
  const seen: string[] = [];
  let query = '?action=test.event&limit=2';
  for (;;) {
    const page = await list(gw, query);
    assert.ok(page.data.length <= 2);
    seen.push(...page.data.map((r) => r.id));
    if (page.next_cursor === null) break;
    query = `?action=test.event&limit=2&cursor=${page.next_cursor}`;
  }
  assert.equal(seen.length, 5);
  assert.deepEqual(seen, [...seen].sort().reverse(), 'newest first, each once');
  assert.equal((await list(gw, '?actor=a1')).data.length, 2);
  const all = (await list(gw, '?action=test.event')).data;
  const from = all.at(-1)!.at;
  const to = all[0]!.at;
  const inRange = (await list(gw, `?action=test.event&from=${from}&to=${to}`)).data;
  assert.ok(inRange.every((r) => r.at >= from && r.at < to));
  assert.equal((await list(gw, '?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z')).data.length, 0);
});

test('filters and ids are data, not SQL; malformed ones are 400s, unknown ids 404 (Q27)', async (t) => {
  const gw = await startTestGateway(t, base);
  for (const payload of ["x' OR '1'='1", "'); DROP TABLE audit_log;--", '%']) {
    const q = encodeURIComponent(payload);
    assert.deepEqual((await list(gw, `?action=${q}`)).data, []);
    assert.deepEqual((await list(gw, `?actor=${q}`)).data, []);
  }
  assert.equal((await list(gw)).data.length >= 1, true, 'the table survived');
  const codes = async (path: string) => {
    const r = await admin(gw, path);
    return [r.status, r.body.code];
  };
  assert.deepEqual(await codes('/audit/aud_0000000000000'), [404, 'admin_not_found']);
  assert.deepEqual(await codes(`/audit/${encodeURIComponent("aud_0' OR '1'='1")}`), [
    400,
    'admin_validation',
  ]);
  assert.deepEqual(await codes('/audit?outcome=maybe'), [400, 'admin_validation']);
  assert.deepEqual(await codes('/audit?from=yesterday'), [400, 'admin_validation']);
  assert.deepEqual(await codes('/audit?cursor=bm9wZQ'), [400, 'cursor_invalid']);
});

test('with audit.log, every stored record is also an `audit` log line', async (t) => {
  const gw = await startTestGateway(t, { ...base, audit: { log: true } });
  await gw.gateway.services.audit.flush();
  const line = gw.logs().find((l) => l.msg === 'audit');
  assert.equal((line?.audit as { action?: string } | undefined)?.action, 'gateway.start');
});

test('a tampered chain: /admin/v1/audit/verify answers 500 audit_chain_broken naming the record', async (t) => {
  const gw = await startTestGateway(t, base);
  gw.gateway.services.audit.record({ action: 'test.event', outcome: 'success', after: { n: 1 } });
  const [event] = (await list(gw, '?action=test.event')).data;
  const db = gw.gateway.store.db;
  await sql`drop trigger audit_log_no_update`.execute(db);
  await sql`update audit_log set "after" = '{"n":2}' where id = ${event!.id}`.execute(db);
  const res = await admin(gw, '/audit/verify');
  assert.equal(res.status, 500);
  assert.equal(res.body.code, 'audit_chain_broken');
  assert.deepEqual([res.body.mismatch, res.body.seq, res.body.id], ['hash', event!.seq, event!.id]);
});

function cli(args: string[], databaseUrl: string) {
  return runCli(['audit', ...args, '-c', join(ROOT, 'no-such-junction.yaml')], {
    env: { JUNCTION_DATABASE_URL: databaseUrl },
  });
}

/** The URL a CLI process uses to reach this test's store (its own schema on PostgreSQL). */
function cliUrl(site: { url: string; pgSchema?: string }): string {
  if (site.pgSchema === undefined) return site.url;
  // libpq's `options` startup parameter, as src/store/postgres.ts sets it for a pool.
  return `${PG_TEST_URL}?options=${encodeURIComponent(`-c search_path=${site.pgSchema}`)}`;
}

for (const target of targets) {
  describe(`junction audit verify on ${target.dialect}`, () => {
    test('exit 0 on an intact chain, 1 naming the first bad record, 2 on a bad anchor', async (t: TestContext) => {
      const site = await target.setup(t);
      const store = await site.openMigrated();
      const chain = await seedChain(store, 30, 7);
      const url = cliUrl(site);

      const ok = await cli(['verify'], url);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^30 records, chain intact\nhead 30:[0-9a-f]{64}\n$/);
      const anchor = `${chain[19]!.seq}:${chain[19]!.hash}`;
      assert.equal((await cli(['verify', '--anchor', anchor], url)).code, 0);
      assert.equal((await cli(['verify', '--anchor', 'nope'], url)).code, 2);

      if (store.dialect === 'postgres') {
        await sql`drop trigger audit_log_no_change on audit_log`.execute(store.db);
      } else {
        await sql`drop trigger audit_log_no_delete`.execute(store.db);
      }
      await sql`delete from audit_log where seq = 12`.execute(store.db);
      const bad = await cli(['verify'], url);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, new RegExp(`seq 13 \\(${chain[12]!.id}\\): prev_hash .* seq 12 is missing`));
      const json = await cli(['verify', '--json'], url);
      assert.equal(json.code, 1);
      assert.deepEqual(JSON.parse(json.stdout).failure.mismatch, 'prev_hash');
    });

    test('exit 1 with a hint on a store that was never migrated', async (t: TestContext) => {
      const site = await target.setup(t);
      await site.open();
      const run = await cli(['verify'], cliUrl(site));
      assert.equal(run.code, 1);
      assert.match(run.stderr, /no audit log yet: run junction migrate/);
    });
  });
}
