/** `junction dlq list|replay|discard` and `junction events export` as child processes, on a SQLite store. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Snowflake } from '../src/core/ids.ts';
import { type Delivery, openStore, type Store } from '../src/store/index.ts';
import { runCli } from './helpers/cli.ts';

async function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'junction-cli-dlq-'));
  const url = `sqlite:${join(dir, 'junction.db')}`;
  const store = await openStore({ url, env: {} });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.migrate();
  // No config file: the CLI finds the store by JUNCTION_DATABASE_URL, as `junction migrate` does.
  const junction = (...args: string[]) =>
    runCli([...args, '-c', join(dir, 'absent.yaml')], { env: { JUNCTION_DATABASE_URL: url } });
  return { dir, store, junction };
}

/** `count` events queued for `subscription`, every delivery dead-lettered. */
async function seedDead(
  store: Store,
  count: number,
  subscription: string,
  ids: Snowflake,
): Promise<Delivery[]> {
  for (let i = 0; i < count; i++) {
    await store.events.append(
      { source: 'shop', type: 'order.created', payload: `{"i":${i}}` },
      [subscription],
      ids,
    );
  }
  const out: Delivery[] = [];
  for (;;) {
    const claimed = await store.deliveries.claim('seed', 1000, 60_000, Date.now() + 60_000);
    if (claimed.length === 0) return out;
    for (const d of claimed) {
      await store.deliveries.deadLetter(
        d.id,
        'seed',
        'destination_status: HTTP 422: amount is not a number',
        422,
      );
      out.push(d);
    }
  }
}

test('dlq list shows dead letters by subscription; replay and discard one; both are audited', async (t) => {
  const { store, junction } = await setup(t);
  const ids = new Snowflake({ nodeId: 7 });
  const orders = await seedDead(store, 2, 'orders', ids);
  const crm = await seedDead(store, 1, 'crm', ids);

  const table = await junction('dlq', 'list');
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ID +SUBSCRIPTION +EVENT +ATTEMPTS +DEAD SINCE +LAST ERROR$/m);
  assert.equal(table.stdout.trim().split('\n').length, 4);
  assert.match(table.stdout, /destination_status: HTTP 422: amount is not a number/);

  const json = await junction('dlq', 'list', '--subscription', 'orders', '--json');
  const listed = JSON.parse(json.stdout) as { id: string; subscription: string; last_status: number }[];
  assert.deepEqual(listed.map((d) => d.id).sort(), orders.map((d) => d.id).sort());
  assert.ok(listed.every((d) => d.subscription === 'orders' && d.last_status === 422));
  const none = await junction('dlq', 'list', '--from', '1h', '--to', '30m');
  assert.match(none.stdout, /^no dead letters$/m, 'an hour ago to half an hour ago is empty');

  const replayed = await junction('dlq', 'replay', orders[0]!.id);
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.match(replayed.stdout, new RegExp(`^replayed ${orders[0]!.id} \\(orders, event evt_\\w+\\)$`, 'm'));
  const row = await store.deliveries.get(orders[0]!.id);
  assert.deepEqual([row?.status, row?.attempts], ['pending', 0]);
  const twice = await junction('dlq', 'replay', orders[0]!.id);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /is pending, not dead/);

  const discarded = await junction('dlq', 'discard', crm[0]!.id);
  assert.equal(discarded.code, 0, discarded.stderr);
  assert.equal(await store.deliveries.get(crm[0]!.id), undefined);

  const audit = (await store.auditLog.list({ limit: 50 })).items.filter((r) =>
    r.action.startsWith('admin.delivery.'),
  );
  assert.deepEqual(audit.map((r) => [r.action, r.resource, r.actorKind]).reverse(), [
    ['admin.delivery.replay', orders[0]!.id, 'cli'],
    ['admin.delivery.discard', crm[0]!.id, 'cli'],
  ]);
  assert.equal((await junction('dlq', 'replay', orders[1]!.id, '--subscription', 'orders')).code, 2);
});

test('dlq replay --all replays a filtered set in pages with progress on stderr, audited once', async (t) => {
  const { store, junction } = await setup(t);
  const ids = new Snowflake({ nodeId: 7 });
  const orders = await seedDead(store, 620, 'orders', ids);
  await seedDead(store, 3, 'crm', ids);

  const r = await junction('dlq', 'replay', '--all', '--subscription', 'orders');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^replayed 620 of 620 dead letters$/m);
  // Not a terminal: one line per page of 500.
  assert.match(r.stderr, /replaying \[#+-+\] 500\/620\n/);
  assert.match(r.stderr, /replaying \[#{30}\] 620\/620\n/);
  assert.equal(await store.deliveries.count('pending', 10_000), orders.length);
  assert.equal(await store.deliveries.count('dead', 10_000), 3, 'crm was not in the filter');
  const audit = (await store.auditLog.list({ limit: 50, action: 'admin.delivery.replay_many' })).items;
  assert.equal(audit.length, 1);
  assert.deepEqual(JSON.parse(audit[0]!.after!), { subscription: 'orders', replayed: 620 });
});

test('events export writes a time range as NDJSON, binary payloads as base64, to a file or stdout', async (t) => {
  const { dir, store, junction } = await setup(t);
  let now = Date.parse('2026-03-01T10:00:00Z');
  const ids = new Snowflake({ nodeId: 7, now: () => now });
  const binary = Buffer.from([0xff, 0x00, 0xfe, 0x01]);
  for (const [i, payload] of ['{"a":1}', binary, '{"a":3}', '{"a":4}'].entries()) {
    now = Date.parse('2026-03-01T10:00:00Z') + i * 60_000;
    await store.events.append(
      { source: 'shop', type: i === 3 ? 'order.paid' : 'order.created', payload },
      [],
      ids,
    );
  }
  const file = join(dir, 'march.ndjson');
  const r = await junction(
    'events',
    'export',
    '--from',
    '2026-03-01T10:00:00Z',
    '--to',
    '2026-03-01T10:03:00Z',
    '-o',
    file,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /exported 3 events to /);
  const lines = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  assert.deepEqual(
    lines.map((l) => [l.received_at, l.payload_encoding, l.payload]),
    [
      ['2026-03-01T10:00:00.000Z', 'utf8', '{"a":1}'],
      ['2026-03-01T10:01:00.000Z', 'base64', binary.toString('base64')],
      ['2026-03-01T10:02:00.000Z', 'utf8', '{"a":3}'],
    ],
  );
  const typed = await junction('events', 'export', '--from', '2026-03-01T00:00:00Z', '--type', 'order.paid');
  assert.equal(typed.code, 0, typed.stderr);
  assert.deepEqual(
    typed.stdout
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { payload: string }).payload),
    ['{"a":4}'],
  );
  assert.equal((await junction('events', 'export')).code, 2, '--from is required');
  assert.equal((await junction('events', 'export', '--from', 'yesterday-ish')).code, 2);
});

test('events export into a pipe that closes early (`| head`) ends quietly with exit 0', async (t) => {
  const { dir, store } = await setup(t);
  const ids = new Snowflake({ nodeId: 7 });
  const payload = JSON.stringify({ filler: 'x'.repeat(2000) });
  for (let i = 0; i < 300; i++) await store.events.append({ source: 'shop', type: 't', payload }, [], ids);
  const { spawn } = await import('node:child_process');
  const { cleanEnv, MAIN, ROOT } = await import('./helpers/cli.ts');
  const child = spawn(
    process.execPath,
    [MAIN, 'events', 'export', '--from', '1d', '-c', join(dir, 'absent.yaml')],
    { cwd: ROOT, env: cleanEnv({ JUNCTION_DATABASE_URL: `sqlite:${join(dir, 'junction.db')}` }) },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c;
  });
  // Like `head -1`: read the first chunk, then close the pipe while the exporter is still writing.
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
});
