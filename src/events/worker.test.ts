import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { EventsConfig } from '../config/events-schema.ts';
import type { Store } from '../store/index.ts';
import { sqliteTarget } from '../store/testing.ts';
import { DISABLED_RECHECK_MS, startDeliveryWorker, UNKNOWN_MAX_ATTEMPTS } from './worker.ts';
import {
  type Answer,
  appendEvents,
  eventsConfig,
  quietServices,
  receiver,
  waitFor,
} from './worker-testing.ts';

/** Just below 1: full jitter then waits (almost) its whole ceiling, so the gaps have lower bounds. */
const CEILING = () => 0.999;

async function setup(
  t: TestContext,
  answer: Answer,
  sub: Record<string, unknown> = {},
  worker = {},
  options: { recheckMs?: number } = {},
) {
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  const endpoint = await receiver(t, answer);
  const services = quietServices();
  let config = eventsConfig({
    subscriptions: {
      orders: {
        destination: { type: 'http', url: endpoint.url, allowPrivateNetworks: true, timeoutMs: 5_000 },
        retry: { maxAttempts: 4, initialMs: 50, maxMs: 1_000 },
        ...sub,
      },
    },
    worker: { idlePollMs: 20, leaseMs: 10_000, ...worker },
  });
  const start = () => {
    const w = startDeliveryWorker({
      config: () => config,
      store,
      services,
      owner: 'w1',
      random: CEILING,
      recheckMs: options.recheckMs,
    });
    t.after(() => w.close());
    return w;
  };
  const setConfig = (next: EventsConfig) => {
    config = next;
  };
  return { store, endpoint, services, start, config: () => config, setConfig };
}

const status = async (store: Store, id: string) => (await store.deliveries.get(id))!;

test('an endpoint that fails twice then accepts gets the event on the third attempt, after growing waits', async (t) => {
  const s = await setup(t, (_r, seen) => (seen < 2 ? 503 : 204));
  const [d] = await appendEvents(s.store, s.services.ids, 1, ['orders']);
  s.start();
  const done = await waitFor('delivered', async () => {
    const row = await status(s.store, d!.id);
    return row.status === 'done' && row;
  });
  assert.equal(done.attempts, 3);
  assert.equal(done.lastStatus, 503, 'the last failure is kept');
  const times = s.endpoint.requests.map((r) => r.at);
  assert.equal(times.length, 3);
  // Ceilings 50 ms then 100 ms (initialMs doubling); a wait is never shorter than what was scheduled.
  assert.ok(times[1]! - times[0]! >= 45, `first wait ${times[1]! - times[0]!} ms`);
  assert.ok(times[2]! - times[1]! >= 95, `second wait ${times[2]! - times[1]!} ms`);
});

test('an endpoint that always fails sends the delivery to the dead letter queue after maxAttempts', async (t) => {
  const s = await setup(t, () => 500);
  const [d] = await appendEvents(s.store, s.services.ids, 1, ['orders']);
  s.start();
  const dead = await waitFor('dead', async () => {
    const row = await status(s.store, d!.id);
    return row.status === 'dead' && row;
  });
  assert.equal(dead.attempts, 4);
  assert.equal(s.endpoint.requests.length, 4);
  assert.equal(dead.lastStatus, 500);
  assert.match(dead.lastError!, /^destination_status: HTTP 500: refused evt_/);
  const text = await s.services.metrics.registry.metrics();
  assert.match(text, /junction_deliveries_dead_total\{subscription="orders",code="destination_status"\} 1/);
  assert.match(text, /junction_deliveries_total\{subscription="orders",outcome="retried"\} 3/);
});

test('a 400 is dead at once; a 410 too, counted as destination_gone', async (t) => {
  const s = await setup(t, (r) => (JSON.parse(r.body).n === 0 ? 400 : 410));
  const [bad, gone] = await appendEvents(s.store, s.services.ids, 2, ['orders']);
  s.start();
  await waitFor('both dead', async () => (await s.store.deliveries.count('dead', 10)) === 2);
  assert.equal(s.endpoint.requests.length, 2, 'one attempt each');
  assert.deepEqual(
    [(await status(s.store, bad!.id)).attempts, (await status(s.store, bad!.id)).lastStatus],
    [1, 400],
  );
  assert.match((await status(s.store, gone!.id)).lastError!, /^destination_gone: HTTP 410/);
  const text = await s.services.metrics.registry.metrics();
  assert.match(text, /junction_deliveries_dead_total\{subscription="orders",code="destination_gone"\} 1/);
});

test('a poison event does not block the queue: every good event is delivered while it is retried to death', async (t) => {
  const s = await setup(t, (r) => (JSON.parse(r.body).poison ? 500 : 200), {}, { concurrency: 2 });
  const [poison] = await appendEvents(s.store, s.services.ids, 1, ['orders'], () => ({ poison: true }));
  const good = await appendEvents(s.store, s.services.ids, 40, ['orders']);
  s.start();
  await waitFor('all good delivered', async () => {
    const rows = await Promise.all(good.map((d) => status(s.store, d.id)));
    return rows.every((r) => r.status === 'done');
  });
  await waitFor('poison dead', async () => (await status(s.store, poison!.id)).status === 'dead');
  const goodIds = new Set(s.endpoint.requests.filter((r) => !r.body.includes('poison')).map((r) => r.id));
  assert.equal(goodIds.size, 40);
  assert.equal(s.endpoint.counts.get(poison!.eventId), 4);
});

test('batching subscriptions send several events per request', async (t) => {
  const s = await setup(t, () => 200, {}, { concurrency: 50 });
  const cfg = s.config();
  cfg.subscriptions.orders!.destination = {
    ...cfg.subscriptions.orders!.destination,
    batch: { maxEvents: 10, maxWaitMs: 50 },
  };
  await appendEvents(s.store, s.services.ids, 30, ['orders']);
  s.start();
  await waitFor('all delivered', async () => (await s.store.deliveries.count('done', 100)) === 30);
  const bodies = s.endpoint.requests.map((r) => JSON.parse(r.body) as unknown[]);
  assert.ok(bodies.every(Array.isArray), 'a batching endpoint always gets arrays');
  assert.equal(bodies.flat().length, 30);
  assert.ok(bodies.length < 30, `${bodies.length} requests for 30 events`);
});

test('a disabled subscription keeps its deliveries pending, unsent and without spent attempts', async (t) => {
  const s = await setup(t, () => 200, { enabled: false });
  const [d] = await appendEvents(s.store, s.services.ids, 1, ['orders']);
  const before = Date.now();
  s.start();
  const row = await waitFor('postponed', async () => {
    const r = await status(s.store, d!.id);
    return r.status === 'pending' && r.nextAttemptAt! >= before + DISABLED_RECHECK_MS && r;
  });
  assert.equal(row.attempts, 0);
  assert.equal(s.endpoint.requests.length, 0);
});

test('a delivery of a subscription this node does not know is retried, then dead-lettered as subscription_unknown', async (t) => {
  const s = await setup(t, () => 200, {}, {}, { recheckMs: 5 });
  const [d] = await appendEvents(s.store, s.services.ids, 1, ['retired']);
  s.start();
  const row = await waitFor('dead', async () => {
    const r = await status(s.store, d!.id);
    return r.status === 'dead' && r;
  });
  assert.match(row.lastError!, /^subscription_unknown: /);
  assert.equal(row.attempts, UNKNOWN_MAX_ATTEMPTS);
});

test('close aborts an attempt in flight and gives the delivery back due now, the attempt not counted', async (t) => {
  // An endpoint that never answers while the test runs.
  const s = await setup(t, () => new Promise<number>(() => {}));
  const [d] = await appendEvents(s.store, s.services.ids, 1, ['orders']);
  const w = s.start();
  await waitFor('sent', () => s.endpoint.requests.length === 1);
  const started = Date.now();
  await w.close();
  const row = await status(s.store, d!.id);
  assert.equal(row.status, 'pending');
  assert.equal(row.attempts, 0);
  assert.ok(row.nextAttemptAt! <= Date.now() && row.nextAttemptAt! >= started);
});

test('the queue depth gauge reads the store at scrape time', async (t) => {
  const s = await setup(t, () => 200, { enabled: false });
  await appendEvents(s.store, s.services.ids, 3, ['orders']);
  s.start();
  const text = await s.services.metrics.registry.metrics();
  assert.match(text, /junction_delivery_queue_depth\{status="pending"\} [0-9]/);
  await waitFor('all postponed', async () => {
    const m = await s.services.metrics.registry.metrics();
    return /junction_delivery_queue_depth\{status="pending"\} 3/.test(m) && /outcome="postponed"\} 3/.test(m);
  });
});

test('with no subscriptions, a worker claims only while its resolver says it has work', async (t) => {
  const store = await (await sqliteTarget.setup(t)).openMigrated();
  let claims = 0;
  const claim = store.deliveries.claim.bind(store.deliveries);
  store.deliveries.claim = (...args: Parameters<typeof claim>) => {
    claims++;
    return claim(...args);
  };
  let active = false;
  const worker = startDeliveryWorker({
    config: () => eventsConfig({ subscriptions: {}, worker: { idlePollMs: 10 } }),
    store,
    services: quietServices(),
    owner: 'idle',
    resolver: {
      handles: (s) => s.startsWith('ep:'),
      resolve: async () => undefined,
      active: async () => active,
    },
  });
  t.after(() => worker.close());
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(claims, 0, 'no live endpoint: no claim queries');
  active = true;
  await waitFor('a claim', () => claims > 0);
});
