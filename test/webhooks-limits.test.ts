/**
 * Per-endpoint rate and concurrency limits of outbound webhooks (issue #7), enforced by waiting:
 * measured by the receivers' own clocks, nothing dropped, and a limited endpoint holds no worker
 * slot while it waits. Each on SQLite and PostgreSQL (the postponements are store writes).
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import {
  startEndpointWorker,
  startWebhookApi,
  type WebhookApi,
} from '../src/admin/routes/webhooks-testing.ts';
import { receiver, waitFor } from '../src/events/worker-testing.ts';
import { targets } from '../src/store/testing.ts';
import { HORIZON_MS, PARK_MS } from '../src/webhooks/endpoint-limits.ts';

async function endpointWith(
  api: WebhookApi,
  app: { id: string },
  url: string,
  limits: { rateLimit?: number; maxConcurrency?: number },
) {
  const ep = await api.client().createEndpoint(app.id, { url });
  await api.store.webhooks.endpoints.update(app.id, ep.id, limits, Date.now());
  return ep;
}

/** A webhook API with the event type `order.created` and an application `Shop`. */
async function shop(t: TestContext, target: (typeof targets)[number]) {
  const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
  const admin = api.client();
  await admin.createEventType({ name: 'order.created' });
  const app = await admin.createApp({ name: 'Shop' });
  return { api, admin, app };
}

/** Sends `n` order.created messages to the application, one after the other. */
async function sendMany(admin: ReturnType<WebhookApi['client']>, app: { id: string }, n: number) {
  for (let i = 0; i < n; i++) await admin.send(app.id, { event_type: 'order.created', payload: { i } });
}

/** A receiver that holds every request until `release()`; `arrived()` counts them. */
async function heldReceiver(t: TestContext) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrived = 0;
  const rx = await receiver(t, async () => {
    arrived++;
    await gate;
    return 204;
  });
  return { rx, release, arrived: () => arrived };
}

/** The most arrivals in any window of `ms` (receiver timestamps, performance.now()). */
function densest(at: readonly number[], ms: number): number {
  const sorted = [...at].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

for (const target of targets) {
  describe(`endpoint limits on ${target.dialect}`, () => {
    test('rate_limit 5/s: 12 deliveries arrive no faster than 5 a second, none dropped', async (t) => {
      const { api, admin, app } = await shop(t, target);
      const rx = await receiver(t, () => 204);
      await endpointWith(api, app, rx.url, { rateLimit: 5 });
      const sent = new Set<string>();
      for (let i = 0; i < 12; i++)
        sent.add((await admin.send(app.id, { event_type: 'order.created', payload: { i } })).id);
      startEndpointWorker(t, api, { worker: { concurrency: 8 } });

      await waitFor('every message received', () => (rx.counts.size === 12 ? true : undefined), 30_000);
      assert.deepEqual(new Set(rx.counts.keys()), sent);
      const at = rx.requests.map((r) => r.at);
      // One interval is 200 ms: any second holds at most 5 slots, plus slack for arrival jitter.
      assert.ok(densest(at, 1_000) <= 7, `densest second: ${densest(at, 1_000)}`);
      // 12 slots span 2.2 s; arrivals can only spread further on a loaded machine.
      const span = Math.max(...at) - Math.min(...at);
      assert.ok(span >= 1_500, `span ${span} ms`);
    });

    test('max_concurrency 1: the receiver never sees two requests at once', async (t) => {
      const { api, admin, app } = await shop(t, target);
      let open = 0;
      let most = 0;
      const rx = await receiver(t, async () => {
        open++;
        most = Math.max(most, open);
        await new Promise((resolve) => setTimeout(resolve, 30));
        open--;
        return 204;
      });
      await endpointWith(api, app, rx.url, { maxConcurrency: 1 });
      await sendMany(admin, app, 6);
      startEndpointWorker(t, api, { worker: { concurrency: 8 } });

      await waitFor('every message received', () => (rx.counts.size === 6 ? true : undefined), 30_000);
      assert.equal(most, 1);
      // Nothing was retried: the held deliveries were postponed, not failed.
      for (const n of rx.counts.values()) assert.equal(n, 1);
    });

    test('max_concurrency 1 behind a hanging request: parked deliveries are brought forward as places free, long before they would return', async (t) => {
      const { api, admin, app } = await shop(t, target);
      const { rx, release, arrived } = await heldReceiver(t);
      const ep = await endpointWith(api, app, rx.url, { maxConcurrency: 1 });
      await sendMany(admin, app, 40);
      startEndpointWorker(t, api, { worker: { concurrency: 8 } });

      // One request hangs: the others are parked, the due backlog with them, PARK_MS ahead.
      await waitFor('the first request', () => (arrived() === 1 ? true : undefined));
      const parked = await waitFor('the backlog parked', async () => {
        const page = await api.store.deliveries.list('pending', { subscription: `ep:${ep.id}`, limit: 100 });
        const far = page.items.filter((d) => d.nextAttemptAt! >= Date.now() + PARK_MS / 2);
        return far.length >= 30 ? far : undefined;
      });
      const firstReturn = Math.min(...parked.map((d) => d.nextAttemptAt!));

      release();
      await waitFor('every message received', () => (rx.counts.size === 40 ? true : undefined), 2 * PARK_MS);
      assert.ok(Date.now() < firstReturn, 'drained before any parked delivery came back by itself');
      for (const n of rx.counts.values()) assert.equal(n, 1);
    });

    test('without limits, an endpoint gets as many requests at once as the worker has slots (its pool is sized to them)', async (t) => {
      const { api, admin, app } = await shop(t, target);
      const { rx, release, arrived } = await heldReceiver(t);
      await admin.createEndpoint(app.id, { url: rx.url });
      await sendMany(admin, app, 16);
      startEndpointWorker(t, api, { worker: { concurrency: 16 } });

      // A pool of 10 sockets (the HTTP destination's default) would hold 6 of them back.
      await waitFor('16 requests open at once', () => (arrived() === 16 ? true : undefined), 15_000);
      release();
      await waitFor('every message received', () => (rx.counts.size === 16 ? true : undefined));
    });

    test('rate_limit 1/s with a backlog past the horizon: the pushed rows are spread one interval apart, not bunched', async (t) => {
      const { api, admin, app } = await shop(t, target);
      const rx = await receiver(t, () => 204);
      const ep = await endpointWith(api, app, rx.url, { rateLimit: 1 });
      await sendMany(admin, app, 60);
      const start = Date.now();
      startEndpointWorker(t, api, { worker: { concurrency: 8 } });

      // ~31 slots within the 30 s horizon are booked one by one; then the rest is pushed in one
      // statement behind them.
      const pending = await waitFor('the backlog pushed past the horizon', async () => {
        const page = await api.store.deliveries.list('pending', { subscription: `ep:${ep.id}`, limit: 100 });
        const pushed = page.items.filter((d) => d.nextAttemptAt! > start + HORIZON_MS + 1_000);
        return pushed.length >= 20 ? page.items : undefined;
      });
      const byTime = new Map<number, number>();
      for (const d of pending) byTime.set(d.nextAttemptAt!, (byTime.get(d.nextAttemptAt!) ?? 0) + 1);
      const bunch = Math.max(...byTime.values());
      // The deliveries of the claim round (≤ 8) that met the horizon come back when the schedule
      // frees, together; unspread, the ~28 pushed rows would too: claimed at once then, one sent,
      // the rest booked or pushed again.
      assert.ok(bunch <= 8, `${bunch} deliveries due at one instant`);
      assert.ok(rx.counts.size < 60, 'still draining at 1/s');
    });

    test('a limited endpoint does not delay another endpoint: its waits hold no worker slot', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const slow = await receiver(t, () => 204);
      const fast = await receiver(t, () => 204);
      await admin.createEventType({ name: 'order.created' });
      const slowApp = await admin.createApp({ name: 'Slow' });
      const fastApp = await admin.createApp({ name: 'Fast' });
      await endpointWith(api, slowApp, slow.url, { rateLimit: 1 });
      await admin.createEndpoint(fastApp.id, { url: fast.url });
      for (let i = 0; i < 8; i++)
        await admin.send(slowApp.id, { event_type: 'order.created', payload: { i } });
      for (let i = 0; i < 4; i++)
        await admin.send(fastApp.id, { event_type: 'order.created', payload: { i } });
      // Two slots only: were the slow endpoint's waits held in them, the fast one would starve.
      startEndpointWorker(t, api, { worker: { concurrency: 2 } });

      await waitFor('the fast endpoint served', () => (fast.counts.size === 4 ? true : undefined), 30_000);
      // At 1/s the slow endpoint's 8 deliveries take 7 s; it is still draining.
      assert.ok(slow.counts.size < 8, `slow received ${slow.counts.size}`);
      await waitFor('the slow endpoint served', () => (slow.counts.size === 8 ? true : undefined), 30_000);
    });

    test("postponeDue pushes an endpoint's due backlog in one statement, leaving later rows alone", async (t) => {
      const { api, admin, app } = await shop(t, target);
      const a = await admin.createEndpoint(app.id, { url: 'http://127.0.0.1:1/a' });
      const b = await admin.createEndpoint(app.id, { url: 'http://127.0.0.1:1/b' });
      await sendMany(admin, app, 3);
      const now = Date.now() + 1_000;
      // One of a's deliveries is leased, then retried later than the push: it must keep its time.
      const [leased] = await api.store.deliveries.claim('w', 1, 60_000, now);
      assert.ok(leased !== undefined);
      await api.store.deliveries.retry(leased.id, 'w', now + 120_000, 'x', 500, now);
      const moved = await api.store.deliveries.postponeDue(`ep:${a.id}`, now + 60_000, now);
      const pending = await api.store.deliveries.list('pending', { limit: 100 });
      const of = (ep: string) => pending.items.filter((d) => d.subscription === `ep:${ep}`);
      const aDue = of(a.id).filter((d) => d.id !== leased.id);
      assert.equal(moved, aDue.length);
      for (const d of aDue) assert.equal(d.nextAttemptAt, now + 60_000);
      for (const d of of(b.id)) {
        if (d.id === leased.id) assert.equal(d.nextAttemptAt, now + 120_000);
        else assert.ok((d.nextAttemptAt ?? 0) <= now);
      }
      for (const d of pending.items.filter((x) => x.id === leased.id)) {
        assert.equal(d.nextAttemptAt, now + 120_000);
      }
      // Nothing counted as an attempt.
      for (const d of aDue) assert.equal(d.attempts, 0);
    });
  });
}
