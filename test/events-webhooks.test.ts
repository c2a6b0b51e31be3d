/**
 * Webhook sources end to end (Q1, Q25, Q47): a real gateway on 127.0.0.1, deliveries signed by the
 * providers' own libraries (stripe, @octokit/webhooks-methods, standardwebhooks), and the event log
 * and delivery queue read back from the gateway's store.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { stringify } from 'yaml';
import { runCli } from './helpers/cli.ts';
import { startTestGateway, type TestGateway, withTestDefaults } from './helpers/gateway.ts';

const stripe = new Stripe('sk_test_junction');
const STRIPE_SECRET = 'whsec_test_junction_0123456789abcdef';
const GITHUB_SECRET = 'github secret ✓';
const STANDARD_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** A subscription that queues and never sends: the rows are what these tests look at. */
const parked = (extra: Record<string, unknown>) => ({
  destination: { type: 'http', url: 'http://127.0.0.1:9/unused' },
  enabled: false,
  ...extra,
});

const config = (extra: Record<string, unknown> = {}) => ({
  events: {
    sources: {
      stripe: { verify: { provider: 'stripe', secrets: [STRIPE_SECRET] }, maxBodyBytes: 4096 },
      github: { verify: { provider: 'github', secrets: [GITHUB_SECRET] } },
      billing: { path: '/in/billing', verify: { provider: 'standard-webhooks', secrets: [STANDARD_SECRET] } },
    },
    subscriptions: {
      payments: parked({ sources: ['stripe'], types: ['payment_intent.*'] }),
      large: parked({ sources: ['stripe'], filter: 'payload.data.object.amount > 1000' }),
      everything: parked({}),
      pushes: parked({ sources: ['github'], types: ['push'] }),
    },
    ...extra,
  },
});

function stripeEvent(type: string, amount = 500, id = `evt_${randomUUID().replaceAll('-', '')}`) {
  return JSON.stringify({ id, object: 'event', type, data: { object: { amount } } });
}

function postStripe(gw: TestGateway, body: string, timestamp?: number) {
  const signature = stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret: STRIPE_SECRET,
    timestamp,
  });
  return fetch(gw.url('/hooks/stripe'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body,
  });
}

async function answer(res: Response) {
  const body = (await res.json()) as { id: string; duplicate: boolean };
  return { status: res.status, type: res.headers.get('content-type'), body };
}

async function eventCount(gw: TestGateway, source: string): Promise<number> {
  return (await gw.gateway.store.events.list({ source, limit: 1000 })).items.length;
}

async function subscriptionsOf(gw: TestGateway, eventId: string): Promise<string[]> {
  return (await gw.gateway.store.deliveries.forEvent(eventId)).map((d) => d.subscription).sort();
}

async function start(t: TestContext, extra?: Record<string, unknown>) {
  return startTestGateway(t, config(extra));
}

test('a Stripe delivery is verified, stored with its id and type, and answered 202 with the event id', async (t) => {
  const gw = await start(t);
  const body = stripeEvent('payment_intent.succeeded', 2500, 'evt_stripe_1');
  const res = await answer(await postStripe(gw, body));
  assert.equal(res.status, 202);
  assert.match(res.type!, /^application\/json/);
  assert.equal(res.body.duplicate, false);
  assert.match(res.body.id, /^evt_/);
  const stored = await gw.gateway.store.events.get(res.body.id);
  assert.equal(stored?.source, 'stripe');
  assert.equal(stored?.type, 'payment_intent.succeeded');
  assert.equal(stored?.externalId, 'evt_stripe_1');
  assert.equal(stored?.payload.toString(), body, 'the raw body byte for byte');
  assert.equal(stored?.headers['stripe-signature'], undefined, 'signatures are not kept');
  assert.equal(stored?.headers['content-type'], 'application/json');
  // Type glob, JSONata filter over the parsed payload, and the catch-all; not the GitHub one.
  assert.deepEqual(await subscriptionsOf(gw, res.body.id), ['everything', 'large', 'payments']);
});

test('subscriptions: a type outside the glob and a payload the filter refuses queue no delivery', async (t) => {
  const gw = await start(t);
  const small = await answer(await postStripe(gw, stripeEvent('payment_intent.created', 10)));
  assert.deepEqual(await subscriptionsOf(gw, small.body.id), ['everything', 'payments']);
  const other = await answer(await postStripe(gw, stripeEvent('customer.created', 5000)));
  assert.deepEqual(await subscriptionsOf(gw, other.body.id), ['everything', 'large']);
});

test('a replayed Stripe delivery is a duplicate: 200, the first event id, one event and one set of deliveries', async (t) => {
  const gw = await start(t);
  const body = stripeEvent('payment_intent.succeeded', 2500, 'evt_replayed');
  const first = await answer(await postStripe(gw, body));
  // Stripe re-signs every retry with a fresh timestamp; the event id inside is the same.
  const again = await answer(await postStripe(gw, body, Math.floor(Date.now() / 1000) - 5));
  assert.equal(first.status, 202);
  assert.deepEqual(again, { status: 200, type: again.type, body: { id: first.body.id, duplicate: true } });
  assert.equal(await eventCount(gw, 'stripe'), 1);
  const deliveries = await gw.gateway.store.db.selectFrom('deliveries').select('id').execute();
  assert.equal(deliveries.length, 3);
  const metrics = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  assert.match(metrics, /junction_events_received_total\{source="stripe",result="stored"\} 1/);
  assert.match(metrics, /junction_events_received_total\{source="stripe",result="duplicate"\} 1/);
  assert.match(metrics, /junction_events_dedupe_lookups_saved_total\{source="stripe"\} 1/);
  assert.match(metrics, /junction_events_bloom_fill_ratio \d/);
});

test('a bad signature is 401 webhook_signature_invalid and stores nothing', async (t) => {
  const gw = await start(t);
  const body = stripeEvent('payment_intent.succeeded');
  const signature = stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_wrong' });
  const res = await fetch(gw.url('/hooks/stripe'), {
    method: 'POST',
    headers: { 'stripe-signature': signature, accept: 'application/json' },
    body,
  });
  assert.equal(res.status, 401);
  assert.match(res.headers.get('content-type')!, /^application\/problem\+json/);
  const problem = (await res.json()) as { code: string; requestId: string };
  assert.equal(problem.code, 'webhook_signature_invalid');
  assert.match(problem.requestId, /^req_/);
  assert.equal(await eventCount(gw, 'stripe'), 0);
  const metrics = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  assert.match(metrics, /junction_events_received_total\{source="stripe",result="rejected"\} 1/);
});

test('a stale timestamp is 401 webhook_timestamp_stale and stores nothing', async (t) => {
  const gw = await start(t);
  const res = await postStripe(
    gw,
    stripeEvent('payment_intent.succeeded'),
    Math.floor(Date.now() / 1000) - 600,
  );
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'webhook_timestamp_stale');
  assert.equal(await eventCount(gw, 'stripe'), 0);
});

test('a body over maxBodyBytes is 413 before it is verified, declared or chunked', async (t) => {
  const gw = await start(t);
  const big = stripeEvent('payment_intent.succeeded', 1, `evt_${'x'.repeat(5000)}`);
  const declared = await postStripe(gw, big);
  assert.equal(declared.status, 413);
  assert.equal(((await declared.json()) as { code: string }).code, 'payload_too_large');
  const signature = stripe.webhooks.generateTestHeaderString({ payload: big, secret: STRIPE_SECRET });
  const chunked = await fetch(gw.url('/hooks/stripe'), {
    method: 'POST',
    headers: { 'stripe-signature': signature },
    body: new ReadableStream({
      start(c) {
        for (let i = 0; i < big.length; i += 1000)
          c.enqueue(new TextEncoder().encode(big.slice(i, i + 1000)));
        c.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);
  await chunked.body?.cancel();
  assert.equal(await eventCount(gw, 'stripe'), 0);
  // The connection is still good for the next delivery.
  assert.equal((await postStripe(gw, stripeEvent('payment_intent.succeeded'))).status, 202);
});

test('a method other than POST is 405 with Allow: POST', async (t) => {
  const gw = await start(t);
  const res = await fetch(gw.url('/hooks/stripe'));
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
  assert.equal(((await res.json()) as { code: string }).code, 'method_not_allowed');
});

test('GitHub: signed by Octokit; the unsigned delivery id cannot make a replayed body a new event', async (t) => {
  const gw = await start(t);
  const body = JSON.stringify({ ref: 'refs/heads/main', after: 'abc123', repository: { full_name: 'o/r' } });
  const post = async (delivery: string) =>
    fetch(gw.url('/hooks/github'), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': delivery,
        'x-hub-signature-256': await githubSign(GITHUB_SECRET, body),
      },
      body,
    });
  const first = await answer(await post(randomUUID()));
  assert.equal(first.status, 202);
  const stored = await gw.gateway.store.events.get(first.body.id);
  assert.equal(stored?.type, 'push');
  assert.match(stored!.externalId!, /^sha256:/);
  assert.equal(stored?.headers['x-github-event'], 'push');
  assert.deepEqual(await subscriptionsOf(gw, first.body.id), ['everything', 'pushes']);
  const replay = await answer(await post(randomUUID()));
  assert.deepEqual(replay.body, { id: first.body.id, duplicate: true });
  assert.equal(await eventCount(gw, 'github'), 1);
});

test('Standard Webhooks: signed by the standardwebhooks library, on a configured path', async (t) => {
  const gw = await start(t);
  const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'inv_1' } });
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
  const post = () =>
    fetch(gw.url('/in/billing'), {
      method: 'POST',
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': new Webhook(STANDARD_SECRET).sign(id, new Date(), body),
      },
      body,
    });
  const res = await answer(await post());
  assert.equal(res.status, 202);
  const stored = await gw.gateway.store.events.get(res.body.id);
  assert.equal(stored?.externalId, id);
  assert.equal(stored?.type, 'invoice.paid');
  assert.equal(stored?.headers['webhook-id'], id);
  assert.equal((await answer(await post())).body.duplicate, true);
  assert.equal((await fetch(gw.url('/hooks/billing'), { method: 'POST' })).status, 404);
});

test('a filter that fails on a payload counts as no match and is counted, and the event is still stored', async (t) => {
  const gw = await start(t, {
    subscriptions: { odd: parked({ filter: '$number(payload.data.object.note) > 1' }) },
  });
  const body = JSON.stringify({ id: 'evt_odd', type: 'x.y', data: { object: { note: 'not a number' } } });
  const res = await answer(await postStripe(gw, body));
  assert.equal(res.status, 202);
  assert.deepEqual(await subscriptionsOf(gw, res.body.id), []);
  const metrics = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  assert.match(metrics, /junction_events_filter_errors_total\{subscription="odd"\} 1/);
});

test('a reload adds a source and a subscription; the new path answers at once', async (t) => {
  const gw = await start(t);
  assert.equal((await fetch(gw.url('/hooks/late'), { method: 'POST' })).status, 404);
  const next = config();
  const events = next.events as Record<string, Record<string, unknown>>;
  events.sources!.late = { verify: { provider: 'stripe', secrets: [STRIPE_SECRET] } };
  events.subscriptions = { only: parked({ sources: ['late'] }) };
  gw.writeConfig(next);
  assert.equal((await gw.gateway.reload('test')).status, 'applied');
  const body = stripeEvent('payment_intent.succeeded');
  const signature = stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_SECRET });
  const res = await answer(
    await fetch(gw.url('/hooks/late'), { method: 'POST', headers: { 'stripe-signature': signature }, body }),
  );
  assert.equal(res.status, 202);
  assert.deepEqual(await subscriptionsOf(gw, res.body.id), ['only']);
});

test('config mistakes are refused at load with file, line and path', async (t) => {
  await assert.rejects(
    start(t, {
      sources: {
        a: { path: '/hooks/shared', verify: { provider: 'github', secrets: ['s'] } },
        b: { path: '/hooks/shared', verify: { provider: 'github', secrets: ['s'] } },
      },
      pollers: { a: { url: 'http://127.0.0.1:9/x', type: 't' } },
      subscriptions: {
        s: parked({ sources: ['ghost'], filter: 'payload.(' }),
      },
    }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'config_invalid');
      assert.match(
        err.message,
        /junction\.yaml:\d+:\d+ {2}\/events\/sources\/b\/path {2}path \/hooks\/shared is also source a's/,
      );
      assert.match(err.message, /\/events\/pollers\/a {2}source name a is also used in events\.sources/);
      assert.match(err.message, /\/events\/subscriptions\/s\/sources\/0 {2}no source named ghost/);
      assert.match(err.message, /\/events\/subscriptions\/s\/filter {2}not a JSONata expression/);
      return true;
    },
  );
});

test('a source path that a route already serves is refused at load', async (t) => {
  await assert.rejects(
    startTestGateway(t, {
      ...config(),
      routes: [{ name: 'mine', match: { path: '/hooks/stripe' }, respond: { status: 204 } }],
    }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'config_invalid');
      assert.match(
        err.message,
        /:\d+:\d+ {2}\/events\/sources\/stripe {2}path \/hooks\/stripe is already served by route mine \(\/routes\/0\)/,
      );
      return true;
    },
  );
});

async function synchronous(gw: TestGateway): Promise<number> {
  const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(gw.gateway.store.db);
  return rows[0]!.synchronous;
}

test('the SQLite store of a gateway syncs every commit (FULL = 2), with or without event sources', async (t) => {
  assert.equal(await synchronous(await start(t)), 2);
  // Outbound messages and idempotency records are acknowledged too, whatever events: says.
  const plain = await startTestGateway(t, {});
  assert.equal(await synchronous(plain), 2, 'FULL without events');
  plain.writeConfig(config());
  assert.equal((await plain.gateway.reload('test')).status, 'applied');
  assert.equal(await synchronous(plain), 2);
});

test('junction validate reports event config mistakes with file:line:col, as start does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'junction-events-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'junction.yaml');
  writeFileSync(
    file,
    stringify(
      withTestDefaults(
        { ...config(), routes: [{ name: 'mine', match: { path: '/in/billing' }, respond: { status: 204 } }] },
        dir,
      ),
    ),
  );
  const r = await runCli(['validate', '-c', file]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(
    r.stderr,
    /^.+junction\.yaml:\d+:\d+ {2}\/events\/sources\/billing\/path {2}path \/in\/billing is already served by route mine/m,
  );
  // A broker's eventType template is checked at load too, not when its consumer starts.
  const broker = join(dir, 'broker.yaml');
  writeFileSync(
    broker,
    stringify(
      withTestDefaults(
        { events: { brokers: { queue: { type: 'rabbitmq', queue: 'q', eventType: 'x.{nope}' } } } },
        dir,
      ),
    ),
  );
  const b = await runCli(['validate', '-c', broker]);
  assert.equal(b.code, 1, b.stdout);
  assert.match(b.stderr, /broker\.yaml:\d+:\d+ {2}\/events\/brokers\/queue\/eventType {2}/);
});

test('a stored webhook wakes the delivery worker: it is forwarded long before the idle poll', async (t) => {
  const got: string[] = [];
  const { createServer } = await import('node:http');
  const receiver = createServer((req, res) => {
    got.push(String(req.headers['webhook-id']));
    req.resume();
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => receiver.close(() => r())));
  const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/in`;
  const gw = await startTestGateway(t, {
    events: {
      sources: { stripe: { verify: { provider: 'stripe', secrets: [STRIPE_SECRET] } } },
      subscriptions: { forward: { destination: { type: 'http', url, allowPrivateNetworks: true } } },
      // An idle worker looks for work once a minute: only the wake-up can deliver within the test.
      worker: { idlePollMs: 60_000 },
    },
  });
  // Let the worker's first (empty) look pass, so it is asleep when the webhook arrives.
  await new Promise((r) => setTimeout(r, 300));
  const stored = await answer(await postStripe(gw, stripeEvent('payment_intent.succeeded')));
  assert.equal(stored.status, 202);
  const until = Date.now() + 20_000;
  while (got.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual(got, [stored.body.id]);
});
