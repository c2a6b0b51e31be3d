/**
 * `junction webhooks dead|recover|resend` (issue #7, Q40) as child processes on a SQLite store, as an
 * operator's shell runs them, plus the terminal progress bar drawn in place (in process, with a TTY
 * stderr).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { webhooksCommand } from '../src/cli/webhooks.ts';
import type { AuditEntry } from '../src/core/audit.ts';
import { Snowflake } from '../src/core/ids.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { runCli } from './helpers/cli.ts';

const HOUR = 3_600_000;

async function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'junction-cli-webhooks-'));
  const url = `sqlite:${join(dir, 'junction.db')}`;
  const store = await openStore({ url, env: {} });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.migrate();
  const now = Date.now();
  const ids = new Snowflake({ nodeId: 3 });
  const app = (await store.webhooks.apps.create({
    id: ids.next('app'),
    tenant: '',
    uid: 'shop',
    name: 'Shop',
    now,
  }))!;
  const endpoint = async (disabled = false) =>
    (await store.webhooks.endpoints.create({
      id: ids.next('ep'),
      appId: app.id,
      url: 'https://a.example/hooks',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      disabled,
      now,
    }))!;
  const junction = (...args: string[]) =>
    runCli([...args, '-c', join(dir, 'absent.yaml')], { env: { JUNCTION_DATABASE_URL: url } });
  return { url, store, app, endpoint, junction };
}

/** `count` messages of `type` sent `at`, every delivery dead-lettered; their ids. */
async function seedDead(store: Store, appId: string, at: number, type: string, count: number) {
  const ids = new Snowflake({ nodeId: 9, now: () => at });
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await store.webhooks.messages.send(
      { appId, eventType: type, payload: '{}', schemaVersion: 0 },
      ids,
      at,
    );
    if ('message' in r) sent.push(r.message.id);
  }
  for (;;) {
    const claimed = await store.deliveries.claim('seed', 1000, 60_000, Date.now() + HOUR);
    if (claimed.length === 0) return sent;
    for (const d of claimed)
      await store.deliveries.deadLetter(d.id, 'seed', 'destination_status: HTTP 500', 500);
  }
}

test('webhooks recover requeues in pages with a progress line per page on stderr, the total on stdout, audited as cli', async (t) => {
  const { store, app, endpoint, junction } = await setup(t);
  const ep = await endpoint();
  const now = Date.now();
  await seedDead(store, app.id, now - 3 * HOUR, 'order.created', 3);
  await seedDead(store, app.id, now - HOUR, 'order.created', 1_100);

  const r = await junction('webhooks', 'recover', 'shop', '--since', '2h');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^recovered 1100 dead letters \(1100 read\)$/m);
  // Not a terminal: one line per page of 500, thousands separated.
  assert.match(r.stderr, /^recovering \[#{14}-{16}\] 500\/1,100$/m);
  assert.match(r.stderr, /^recovering \[#{27}-{3}\] 1,000\/1,100$/m);
  assert.match(r.stderr, /^recovering \[#{30}\] 1,100\/1,100$/m);
  assert.equal(await store.webhooks.recovery.countDead(ep.id), 3, 'older than --since: still dead');
  assert.equal(await store.deliveries.count('pending', 10_000), 1_100);

  const audit = (await store.auditLog.list({ limit: 10, action: 'webhook.app.recover' })).items;
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.actorKind, 'cli');
  assert.equal(audit[0]!.resource, app.id);
  assert.deepEqual(JSON.parse(audit[0]!.after!).recovered, 1_100);

  const none = await junction('webhooks', 'recover', app.id, '--type', 'order.paid');
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /^recovered 0 dead letters \(3 read\)$/m);
});

test('webhooks dead lists, resend requeues one message; refusals exit 1 and usage mistakes exit 2', async (t) => {
  const { store, app, endpoint, junction } = await setup(t);
  const ep = await endpoint();
  const [msg] = await seedDead(store, app.id, Date.now() - HOUR, 'order.created', 1);
  const off = await endpoint(true);

  const table = await junction('webhooks', 'dead', 'shop');
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^MESSAGE +ENDPOINT +TYPE +ATTEMPTS +STATUS +DEAD SINCE +LAST ERROR$/m);
  assert.match(table.stdout, new RegExp(`^${msg} +${ep.id} +order\\.created +1 +500 `, 'm'));
  const json = await junction('webhooks', 'dead', 'shop', '--endpoint', ep.id, '--json');
  assert.deepEqual(
    (JSON.parse(json.stdout) as { message_id: string }[]).map((d) => d.message_id),
    [msg],
  );

  const resent = await junction('webhooks', 'resend', 'shop', msg!, '--endpoint', ep.id);
  assert.equal(resent.code, 0, resent.stderr);
  assert.match(resent.stdout, new RegExp(`^resending ${msg} to ${ep.id} \\(was dead\\)$`, 'm'));
  assert.equal(await store.webhooks.recovery.countDead(ep.id), 0);
  const [held] = await store.deliveries.claim('busy', 10, 600_000);
  assert.ok(held);
  const busy = await junction('webhooks', 'resend', 'shop', msg!, '--endpoint', ep.id);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /\(webhook_delivery_in_flight\)/);

  for (const args of [
    ['recover', 'nope'],
    ['recover', 'shop', '--endpoint', 'ep_0000000000000'],
    ['recover', 'shop', '--endpoint', off.id],
    ['resend', 'shop', 'msg_0000000000000', '--endpoint', ep.id],
    ['dead', 'shop', '--endpoint', 'ep_0000000000000'],
  ]) {
    const r = await junction('webhooks', ...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
  }
  for (const args of [
    ['recover'],
    ['recover', 'shop', '--since', 'yesterday'],
    ['recover', 'shop', '--since', '1h', '--until', '2h'],
    ['resend', 'shop', msg!],
    ['dead', 'shop', '--limit', '0'],
    ['frobnicate', 'shop'],
    ['recover', 'shop', '--bogus'],
  ]) {
    const r = await junction('webhooks', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /Usage:/);
  }
  const audit = (await store.auditLog.list({ limit: 10, action: 'webhook.message.resend' })).items;
  assert.deepEqual(
    audit.map((a) => [a.resource, a.actorKind]),
    [[msg, 'cli']],
  );
});

test('on a terminal the recover bar is redrawn in place and ends with a newline', async (t) => {
  const { url, store, app, endpoint } = await setup(t);
  await endpoint();
  await seedDead(store, app.id, Date.now() - HOUR, 'order.created', 600);
  let out = '';
  let err = '';
  const audit: AuditEntry[] = [];
  const code = await webhooksCommand(['recover', 'shop', '-c', join(tmpdir(), 'absent-junction.yaml')], {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    env: { JUNCTION_DATABASE_URL: url },
    errIsTty: true,
    audit: { record: (e) => void audit.push(e), flush: async () => {} },
  });
  assert.equal(code, 0, err);
  assert.equal(out, 'recovered 600 dead letters (600 read)\n');
  assert.equal(
    err,
    `\rrecovering [${'#'.repeat(25)}${'-'.repeat(5)}] 500/600\rrecovering [${'#'.repeat(30)}] 600/600\n`,
  );
  assert.deepEqual(
    audit.map((e) => [e.action, e.actor?.kind]),
    [['webhook.app.recover', 'cli']],
  );
});
