/**
 * Issue #7's reliability test: 10,000 messages sent through the admin API of a real `junction start`
 * process to 3 endpoints that fail a third of their requests at random (500, 503, connection dropped);
 * the gateway is SIGKILLed at a third and at two thirds of the sends and started again on the same
 * store. Afterwards no delivery is pending or leased, and for every accepted message and every
 * endpoint the receiver got it (answered 204) or its delivery is dead; a delivery the store calls done
 * was really answered 204; every request of a message, repeats included (at least once), carries that
 * message's id as `webhook-id` and a valid signature; the store holds one message per `event_id`.
 *
 * - **Store: PostgreSQL**, in its own schema (dropped after the test): the cluster mode, `SKIP
 *   LOCKED` claims. On a loaded 2-core machine, 4,000 messages to 4 endpoints took 71 s on PostgreSQL
 *   and 84 s on SQLite, whose one writer serializes the sends with the worker's claims and completions.
 *   The gateway's sessions run with `synchronous_commit=off`: what is killed is the gateway, not
 *   PostgreSQL, and a commit the server acknowledged survives its client's death either way; only a
 *   crash of the PostgreSQL server could lose it, which this test does not simulate — it saves a
 *   WAL flush on every commit (several per attempt). `RELIABILITY_STORE=sqlite` runs the test on a
 *   SQLite file.
 * - **Fates are seeded**: `RELIABILITY_SEED=<n>` gives every receiver the same answers again (see
 *   test/helpers/flaky-receiver.ts); the seed is printed as a diagnostic. `RELIABILITY_MESSAGES`
 *   shrinks the run while working on it.
 * - 3 endpoints, not 4: 30,000 deliveries (about 45,000 requests) keep the run near a minute on an
 *   idle machine and under two on a loaded one.
 * - A tiny retry schedule (10 ms … 1 s, 8 attempts), no slow-down floor and 2 s leases, so the run
 *   converges in seconds after the last send and a killed worker's leases come back quickly. With a
 *   third of requests failing, about (1/3)^8 of deliveries (a handful of 30,000) exhaust their
 *   attempts and are dead; a request lost to a SIGKILL also uses up an attempt.
 * - Each gateway takes new ports (port 0): a fixed port freed by the kill could be taken by another
 *   test file running alongside. The receivers live in this process and keep theirs.
 * - Sends cut off by a kill are sent again with the same `event_id` once the gateway is back: the
 *   answer is a new message (202) if the first never committed, else the stored one (200, duplicate).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { openStore, type Store } from '../src/store/index.ts';
import { PG_TEST_URL } from '../src/store/testing.ts';
import { createWebhookClient, type WebhookClient } from '../src/webhooks/index.ts';
import { type ChildGateway, startChildGateway } from './helpers/child-gateway.ts';
import { type FlakyReceiver, startFlakyReceiver } from './helpers/flaky-receiver.ts';
import { ADMIN_TOKEN } from './helpers/gateway.ts';

const MESSAGES = Number(process.env.RELIABILITY_MESSAGES ?? 10_000);
const SEED = Number(process.env.RELIABILITY_SEED ?? randomInt(2 ** 31));
const STORE = process.env.RELIABILITY_STORE === 'sqlite' ? 'sqlite' : 'postgres';
const ENDPOINTS = 3;
const IN_FLIGHT = 32;
const EVENT_TYPE = 'order.created';

/** The store URL the gateway opens, and a store on it for this test's reads. */
async function runStore(t: TestContext, dir: string): Promise<{ url: string; open: () => Promise<Store> }> {
  if (STORE === 'sqlite') {
    const url = `sqlite:${join(dir, 'junction.db')}`;
    return { url, open: () => openStore({ url, env: {} }) };
  }
  const schema = `reliability_${randomBytes(6).toString('hex')}`;
  // openStore creates the schema; the gateway reaches it through libpq's `options` startup parameter.
  const first = await openStore({ url: PG_TEST_URL, pgSchema: schema, poolMax: 1, env: {} });
  await first.close();
  t.after(async () => {
    const admin = await openStore({ url: PG_TEST_URL, poolMax: 1, env: {} });
    try {
      await admin.db.schema.dropSchema(schema).ifExists().cascade().execute();
    } finally {
      await admin.close();
    }
  });
  return {
    url: `${PG_TEST_URL}?options=${encodeURIComponent(`-c search_path=${schema} -c synchronous_commit=off`)}`,
    open: () => openStore({ url: PG_TEST_URL, pgSchema: schema, poolMax: 2, env: {} }),
  };
}

test(`${MESSAGES} messages to endpoints failing a third of the time, the gateway SIGKILLed twice: every message delivered or dead, none lost, repeats under one webhook-id`, {
  timeout: 600_000,
}, async (t) => {
  const started = Date.now();
  t.diagnostic(`seed ${SEED} (RELIABILITY_SEED=${SEED} repeats the receivers' answers), store ${STORE}`);
  const dir = mkdtempSync(join(tmpdir(), 'junction-reliability-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const site = await runStore(t, dir);
  const file = join(dir, 'junction.yaml');
  writeFileSync(
    file,
    stringify({
      listeners: { proxy: { host: '127.0.0.1', port: 0 }, admin: { host: '127.0.0.1', port: 0 } },
      admin: { token: ADMIN_TOKEN },
      store: { url: site.url },
      reload: { watch: false },
      observability: { logLevel: 'warn' },
      events: { worker: { concurrency: 32, leaseMs: 2_000, idlePollMs: 50 } },
      webhooks: {
        allowHosts: ['127.0.0.1'],
        retryScheduleMs: [10, 20, 50, 100, 200, 500, 1_000],
        retryJitter: 0.2,
        slowDownMs: 0,
        // The per-endpoint breaker would open after 5 failures in a row, which a receiver failing a
        // third of its requests gives every few hundred requests, and hold the endpoint for its
        // cooldown: not what this test is about, so it needs more failures in a row than will happen.
        breaker: { failures: 1_000 },
      },
    }),
  );

  let gw: ChildGateway = await startChildGateway(t, file, { cwd: dir });
  let admin: WebhookClient = createWebhookClient({ baseUrl: gw.adminUrl, token: ADMIN_TOKEN });
  const store = await site.open();
  t.after(() => store.close());

  await admin.createEventType({
    name: EVENT_TYPE,
    schema: {
      type: 'object',
      required: ['event_id', 'n'],
      properties: { event_id: { type: 'string' }, n: { type: 'integer' } },
    },
  });
  const app = await admin.createApp({ name: 'Reliability', uid: 'reliability' });
  const receivers: FlakyReceiver[] = [];
  const endpointIds: string[] = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    const rx = await startFlakyReceiver(t, SEED, i);
    const ep = await admin.createEndpoint(app.id, { url: rx.url, description: `receiver ${i}` });
    rx.setKey((await admin.endpointSecret(app.id, ep.id)).key);
    receivers.push(rx);
    endpointIds.push(ep.id);
  }

  // Sending, with two SIGKILLs at a third and two thirds of the accepted messages.
  const accepted = new Map<string, string>(); // event_id → msg_ id
  const resent = { total: 0, duplicate: 0, stored: 0 };
  const killAt = [Math.ceil(MESSAGES / 3), Math.ceil((2 * MESSAGES) / 3)];
  const restarts: Promise<void>[] = [];
  let generation = 0;
  let restarting: Promise<void> | undefined;

  function killAndRestart(): void {
    const dying = gw;
    dying.child.kill('SIGKILL');
    restarting = (async () => {
      const { signal } = await dying.exited;
      assert.equal(signal, 'SIGKILL');
      gw = await startChildGateway(t, file, { cwd: dir });
      admin = createWebhookClient({ baseUrl: gw.adminUrl, token: ADMIN_TOKEN });
      generation++;
    })().finally(() => {
      restarting = undefined;
    });
    restarts.push(restarting);
  }

  async function sendOne(i: number): Promise<void> {
    const eventId = `rel_${String(i).padStart(5, '0')}`;
    for (let tries = 0; ; tries++) {
      const gen = generation;
      try {
        const sent = await admin.send(app.id, {
          event_type: EVENT_TYPE,
          event_id: eventId,
          payload: { event_id: eventId, n: i },
        });
        if (tries === 0) assert.equal(sent.duplicate, false, `${eventId} was never sent before`);
        else {
          resent.total++;
          if (sent.duplicate) resent.duplicate++;
          else resent.stored++;
        }
        assert.equal(sent.status, sent.duplicate ? 200 : 202);
        if (!sent.duplicate) assert.equal(sent.endpoints, ENDPOINTS);
        accepted.set(eventId, sent.id);
        if (killAt.length > 0 && accepted.size >= killAt[0]!) {
          killAt.shift();
          killAndRestart();
        }
        return;
      } catch (err) {
        // Only a send cut off by a kill is sent again; any other failure is the test's.
        const cutOff = restarting !== undefined || gen !== generation;
        if (err instanceof assert.AssertionError || !cutOff || tries >= 5) throw err;
        await restarting;
      }
    }
  }

  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < MESSAGES) await sendOne(next++);
    }),
  );
  await Promise.all(restarts);
  const sentMs = Date.now() - started;
  assert.equal(restarts.length, 2, 'the gateway was killed twice');
  assert.equal(accepted.size, MESSAGES);

  // Converged: nothing due or in flight. No deadline here: the test's timeout is the limit. One
  // statement, so one snapshot: two counts read apart could miss the last delivery as it moved
  // between them (pending read just after its claim, leased read just after its failed attempt put
  // it back), and the test went on with a delivery still to make.
  for (;;) {
    const { n } = await store.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('status', 'in', ['pending', 'leased'])
      .executeTakeFirstOrThrow();
    if (Number(n) === 0) break;
    await sleep(250);
  }
  gw.child.kill('SIGTERM');
  assert.equal((await gw.exited).code, 0, gw.output());
  const elapsedMs = Date.now() - started;

  const messages = await store.db
    .selectFrom('webhook_messages')
    .select(['id', 'event_id'])
    .where('app_id', '=', app.id)
    .execute();
  assert.equal(messages.length, MESSAGES, 'one stored message per event_id');
  for (const m of messages) {
    assert.equal(accepted.get(m.event_id ?? ''), m.id, `${m.event_id} is stored once, as answered`);
  }
  const rows = await store.db
    .selectFrom('deliveries as d')
    .innerJoin('webhook_messages as m', 'm.queue_event_id', 'd.event_id')
    .select(['m.id as message', 'd.subscription', 'd.status', 'd.attempts'])
    .where('m.app_id', '=', app.id)
    .execute();
  const status = new Map(rows.map((r) => [`${r.message} ${r.subscription}`, r.status]));

  // What each receiver answered 204, by message id; every request carries its message's id.
  const ok204 = receivers.map(() => new Set<string>());
  const wrong: string[] = [];
  let requests = 0;
  let failed = 0;
  let duplicates = 0;
  receivers.forEach((rx, i) => {
    for (const hit of rx.hits) {
      requests++;
      if (!hit.valid) wrong.push(`receiver ${i}: invalid signature on ${hit.webhookId}`);
      if (hit.webhookId !== accepted.get(hit.eventId)) {
        wrong.push(
          `receiver ${i}: ${hit.eventId} came as ${hit.webhookId}, sent as ${accepted.get(hit.eventId)}`,
        );
      }
      if (hit.answer !== 204) failed++;
      else if (ok204[i]!.has(hit.webhookId)) duplicates++;
      else ok204[i]!.add(hit.webhookId);
    }
  });
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} requests with a wrong id or signature`);

  const lost: string[] = [];
  let dead = 0;
  for (const [eventId, id] of accepted) {
    endpointIds.forEach((ep, i) => {
      const s = status.get(`${id} ep:${ep}`);
      if (s === 'dead') dead++;
      const received = ok204[i]!.has(id);
      // Dead is an outcome (the receiver may even have had it); done must mean a 204 was seen.
      if (!(s === 'dead' || (s === 'done' && received))) {
        lost.push(`${eventId} (${id}) → receiver ${i}: delivery ${s ?? 'missing'}, received ${received}`);
      }
    });
  }
  assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${accepted.size * ENDPOINTS} deliveries lost`);
  assert.equal(rows.length, MESSAGES * ENDPOINTS, 'one delivery per message and endpoint');

  t.diagnostic(
    `${MESSAGES} messages, ${rows.length} deliveries: ${rows.length - dead} delivered, ${dead} dead; ` +
      `${requests} requests, ${failed} failed (retried), ${duplicates} duplicates after a 204; ` +
      `${resent.total} sends resent after a kill (${resent.duplicate} already stored, ${resent.stored} new); ` +
      `sent in ${(sentMs / 1000).toFixed(1)} s, converged in ${(elapsedMs / 1000).toFixed(1)} s`,
  );
});
