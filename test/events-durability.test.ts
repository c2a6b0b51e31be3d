/**
 * "Acknowledge only what is on disk" (issue #6; DESIGN.md promises): `junction start` as a child
 * process takes 200 Stripe-signed webhooks at once and is killed with SIGKILL while half of them are
 * still in flight. Restarted on the same SQLite file, it holds every event it acknowledged exactly
 * once, each with its deliveries queued, and its rebuilt dedupe filter recognises a redelivery.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import Stripe from 'stripe';
import { Agent, fetch as undiciFetch } from 'undici';
import { stringify } from 'yaml';
import { openStore } from '../src/store/index.ts';
import { cleanEnv, MAIN } from './helpers/cli.ts';
import { ADMIN_TOKEN } from './helpers/gateway.ts';

const stripe = new Stripe('sk_test_junction');
const SECRET = 'whsec_test_durability_0123456789';
const N = 200;

interface Running {
  child: ChildProcess;
  proxy: string;
  admin: string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(t: TestContext, file: string, cwd: string): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, 'start', '-c', file], { cwd, env: cleanEnv() });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c;
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = /^junction \S+: proxy (http:\/\/\S+)\s+admin (http:\/\/\S+)$/m.exec(out);
      if (!m) return;
      child.stdout.off('data', onData);
      resolve({ child, proxy: m[1]!, admin: m[2]!, stdout: () => out, exited });
    };
    child.stdout.on('data', onData);
    void exited.then(({ code }) => reject(new Error(`exited ${code} before starting:\n${out}\n${err}`)));
  });
}

function delivery(i: number) {
  const body = JSON.stringify({
    id: `evt_durable_${String(i).padStart(4, '0')}`,
    object: 'event',
    type: 'charge.succeeded',
    data: { object: { amount: 100 + i } },
  });
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }),
    },
  };
}

test('every webhook acknowledged before SIGKILL is in the store exactly once after restart, and a redelivery is a duplicate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'junction-durable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'junction.db');
  const file = join(dir, 'junction.yaml');
  writeFileSync(
    file,
    stringify({
      listeners: { proxy: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
      admin: { token: ADMIN_TOKEN },
      store: { url: `sqlite:${db}` },
      reload: { watch: false },
      events: {
        sources: { stripe: { verify: { provider: 'stripe', secrets: [SECRET] } } },
        subscriptions: {
          ledger: { destination: { type: 'http', url: 'http://127.0.0.1:9/ledger' }, enabled: false },
        },
      },
    }),
  );

  const first = await startCli(t, file, dir);
  // Many connections, so the deliveries really are in flight together.
  const agent = new Agent({ connections: 64, pipelining: 0 });
  t.after(() => agent.close());
  const acked = new Map<string, string>(); // external id → event id
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    first.child.kill('SIGKILL');
  };
  const posts = Array.from({ length: N }, async (_, i) => {
    const { body, headers } = delivery(i);
    try {
      const res = await undiciFetch(`${first.proxy}/hooks/stripe`, {
        method: 'POST',
        headers,
        body,
        dispatcher: agent,
      });
      const answer = (await res.json()) as { id: string; duplicate: boolean };
      if (res.status !== 202) return;
      // Recorded only once the whole answer arrived: this is what a provider counts as delivered.
      acked.set(`evt_durable_${String(i).padStart(4, '0')}`, answer.id);
      if (acked.size >= N / 2) kill();
    } catch {
      // cut off by the kill: not acknowledged, so the provider would send it again
    }
  });
  await Promise.all(posts);
  kill();
  assert.equal((await first.exited).signal, 'SIGKILL');
  assert.ok(acked.size >= N / 2, `${acked.size} acknowledged before the kill`);
  t.diagnostic(`${acked.size} of ${N} acknowledged before SIGKILL`);

  const second = await startCli(t, file, dir);
  const rebuilt = second
    .stdout()
    .split('\n')
    .filter((l) => l.includes('dedupe filter rebuilt'))
    .map((l) => JSON.parse(l) as { keys: number });
  assert.ok(rebuilt[0]!.keys >= acked.size, `the filter was rebuilt from ${rebuilt[0]?.keys} stored keys`);

  // A provider that never saw the 2xx of an acknowledged one... and one that retries anyway.
  const [someExternal, someId] = [...acked.entries()][0]!;
  const index = Number(someExternal.slice('evt_durable_'.length));
  const { body, headers } = delivery(index);
  const again = await fetch(`${second.proxy}/hooks/stripe`, { method: 'POST', headers, body });
  assert.equal(again.status, 200);
  assert.deepEqual(await again.json(), { id: someId, duplicate: true });
  const metrics = await (
    await fetch(`${second.admin}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  ).text();
  assert.match(metrics, /junction_events_received_total\{source="stripe",result="duplicate"\} 1/);
  assert.doesNotMatch(metrics, /junction_events_dedupe_lookups_saved_total\{source="stripe"\} [1-9]/);

  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0);

  const store = await openStore({ url: `sqlite:${db}`, env: {} });
  t.after(() => store.close());
  const stored = new Map<string, string[]>();
  for await (const e of store.events.exportRange({ source: 'stripe' })) {
    stored.set(e.externalId!, [...(stored.get(e.externalId!) ?? []), e.id]);
  }
  for (const [external, id] of acked) {
    assert.deepEqual(stored.get(external), [id], `${external} is stored once, as acknowledged`);
    const deliveries = await store.deliveries.forEvent(id);
    assert.deepEqual(
      deliveries.map((d) => d.subscription),
      ['ledger'],
    );
  }
  for (const [external, ids] of stored) assert.equal(ids.length, 1, `${external} is stored once`);
  t.diagnostic(
    `${stored.size} stored: ${acked.size} acknowledged, ${stored.size - acked.size} committed but cut off before their 2xx (a provider resends those, and gets the duplicate answer)`,
  );
});
