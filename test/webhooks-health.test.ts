/**
 * Outbound endpoint health (issue #7): the per-endpoint circuit breaker, auto-disable after
 * `autoDisableAfterMs` of continuous failure (an injected clock moves 5 days), the operational
 * events of the reserved source `junction` delivered to an ordinary subscription, and the retry
 * schedule of the endpoint over the application's over the settings'. SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { stringify } from 'yaml';
import {
  startEndpointWorker,
  startWebhookApi,
  type WebhookApi,
} from '../src/admin/routes/webhooks-testing.ts';
import { loadConfigText } from '../src/config/loader.ts';
import type { AuditEntry } from '../src/core/audit.ts';
import { compileEvents } from '../src/events/compile.ts';
import { EventPipeline } from '../src/events/index.ts';
import { eventsConfig, receiver, waitFor } from '../src/events/worker-testing.ts';
import { targets } from '../src/store/testing.ts';
import { createOperationalEvents, type WebhookSettings } from '../src/webhooks/index.ts';

const DAY_MS = 86_400_000;

/** A worker with the endpoint resolver, operational events into the log, and an `ops` subscription. */
async function run(
  t: TestContext,
  api: WebhookApi,
  options: { now?: () => number; opsUrl?: string; settings?: Partial<WebhookSettings> } = {},
) {
  const audit: AuditEntry[] = [];
  const services = {
    ...api.services,
    audit: { record: (e: AuditEntry) => audit.push(e), flush: async () => {} },
  };
  const subscriptions: Record<string, Record<string, unknown> & { destination: unknown }> = options.opsUrl
    ? {
        ops: {
          sources: ['junction'],
          types: ['endpoint.*', 'message.attempt.*'],
          destination: { type: 'http', url: options.opsUrl, allowPrivateNetworks: true },
        },
      }
    : {};
  const config = eventsConfig({ subscriptions, worker: { idlePollMs: 10, concurrency: 1 } });
  const pipeline = new EventPipeline({
    store: api.store,
    services,
    dedupe: config.dedupe,
    subscriptions: options.opsUrl
      ? [{ name: 'ops', sources: new Set(['junction']), types: undefined, filter: undefined }]
      : [],
  });
  const settings = { ...api.settings, ...options.settings };
  const { worker } = startEndpointWorker(t, api, {
    config: () => config,
    services,
    resolverOptions: {
      settings: () => settings,
      now: options.now,
      operational: createOperationalEvents({ intake: () => pipeline, logger: services.logger }),
    },
  });
  pipeline.onStored(() => worker.wake());
  return { audit, services };
}

async function operational(api: WebhookApi, type: string) {
  const page = await api.store.events.list({ limit: 100, source: 'junction', type });
  return page.items.map(
    (e) => JSON.parse(e.payload.toString('utf8')) as { type: string; data: Record<string, unknown> },
  );
}

test('a subscription may name the reserved source junction; no source may be called junction', () => {
  const config = (events: unknown) => loadConfigText(stringify({ events }), 'junction.yaml', {});
  const ok = compileEvents(
    config({
      subscriptions: {
        ops: { sources: ['junction'], destination: { type: 'http', url: 'https://ops.example/hooks' } },
      },
    }),
  );
  assert.deepEqual([...(ok.subscriptions[0]?.sources ?? [])], ['junction']);
  // A subscription of every source does not take operational events: they must be asked for.
  const all = compileEvents(
    config({ subscriptions: { all: { destination: { type: 'http', url: 'https://x.example/h' } } } }),
  );
  assert.equal(all.subscriptions[0]?.sources?.has('junction'), false);
  assert.throws(
    () =>
      compileEvents(
        config({ sources: { junction: { verify: { provider: 'github', secrets: ['0123456789abcdef'] } } } }),
      ),
    /reserved/,
  );
});

for (const target of targets) {
  describe(`endpoint health on ${target.dialect}`, () => {
    test('the breaker opens after N failures: the rest wait unsent for the cooldown, attempts not burned', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const rx = await receiver(t, () => 500);
      await admin.createEventType({ name: 'order.created' });
      const app = await admin.createApp({ name: 'Shop' });
      const ep = await admin.createEndpoint(app.id, { url: rx.url });
      for (let i = 0; i < 5; i++) await admin.send(app.id, { event_type: 'order.created', payload: { i } });
      const opened = Date.now();
      await run(t, api, {
        settings: {
          retryScheduleMs: [10, 10, 10, 10],
          breaker: { failures: 3, cooldownMs: 120_000, maxCooldownMs: 600_000 },
        },
      });

      // Every delivery ends up pushed to the reopen time: none will be tried during the cooldown.
      const held = await waitFor('all deliveries held until the breaker reopens', async () => {
        const page = await api.store.deliveries.list('pending', { limit: 100, subscription: `ep:${ep.id}` });
        return page.items.length === 5 && page.items.every((d) => (d.nextAttemptAt ?? 0) >= opened + 60_000)
          ? page.items
          : undefined;
      });
      assert.equal(rx.requests.length, 3);
      assert.equal(
        held.reduce((n, d) => n + d.attempts, 0),
        3,
        'only the 3 real attempts are counted',
      );
    });

    test('the breaker closes after a successful trial, and the held deliveries go out', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      let calls = 0;
      const rx = await receiver(t, () => (++calls <= 2 ? 503 : 204));
      await admin.createEventType({ name: 'order.created' });
      const app = await admin.createApp({ name: 'Shop' });
      await admin.createEndpoint(app.id, { url: rx.url });
      for (let i = 0; i < 4; i++) await admin.send(app.id, { event_type: 'order.created', payload: { i } });
      const { services } = await run(t, api, {
        settings: {
          retryScheduleMs: [10, 10, 10],
          breaker: { failures: 2, cooldownMs: 200, maxCooldownMs: 1_000 },
        },
      });
      await waitFor('all delivered', () => (rx.counts.size === 4 && calls >= 6 ? true : undefined));
      const metric = await services.metrics.registry
        .getSingleMetric('junction_webhook_breaker_transitions_total')
        ?.get();
      const by = (transition: string) =>
        metric?.values.find((v) => v.labels.transition === transition)?.value ?? 0;
      assert.equal(by('opened'), 1);
      assert.equal(by('closed'), 1);
      // 2 failures, then one delivery per message.
      assert.equal(calls, 6);
    });

    test('5 days of failures disable the endpoint: audited, endpoint.disabled in the log and delivered to a junction subscription', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const rx = await receiver(t, () => 500);
      const ops = await receiver(t, () => 204);
      await admin.createEventType({ name: 'order.created' });
      const app = await admin.createApp({ name: 'Shop', uid: 'shop' });
      const ep = await admin.createEndpoint(app.id, { url: rx.url });
      let clock = Date.now();
      const first = clock;
      const { audit } = await run(t, api, {
        now: () => clock,
        opsUrl: ops.url,
        settings: {
          retryScheduleMs: [20, 20, 20, 20, 20, 20],
          breaker: { failures: 1000, cooldownMs: 1, maxCooldownMs: 1 },
        },
      });
      await admin.send(app.id, { event_type: 'order.created', payload: { i: 1 } });
      const failing = await waitFor('failing_since set', async () => {
        const row = await api.store.webhooks.endpoints.byId(ep.id);
        return row?.failingSince ?? undefined;
      });
      assert.equal(failing, first);
      clock += 5 * DAY_MS;
      const disabled = await waitFor('the endpoint disabled', async () => {
        const row = await api.store.webhooks.endpoints.byId(ep.id);
        return row?.disabledAt ?? undefined;
      });
      assert.ok(disabled >= first + 5 * DAY_MS);
      const entry = await waitFor('the audit entry', () =>
        audit.find((e) => e.reason === 'endpoint_failing'),
      );
      assert.equal(entry.resource, ep.id);
      assert.deepEqual(entry.actor, { kind: 'system', id: 'webhook-delivery' });
      // Stored after the disable and its audit entry: waited for, not read at once.
      const event = await waitFor(
        'endpoint.disabled stored',
        async () => (await operational(api, 'endpoint.disabled'))[0],
      );
      assert.equal(event.type, 'endpoint.disabled');
      assert.equal(event.data.endpointId, ep.id);
      assert.equal(event.data.appUid, 'shop');
      assert.equal(event.data.failSince, new Date(first).toISOString());
      const got = await waitFor('delivered to the ops subscription', () =>
        ops.requests.find((r) => r.body.includes('endpoint.disabled')),
      );
      assert.equal(JSON.parse(got.body).data.endpointId, ep.id);
    });

    test('message.attempt.failing on the 4th failure and message.attempt.exhausted when dead, once each', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const rx = await receiver(t, () => 500);
      const ops = await receiver(t, () => 204);
      await admin.createEventType({ name: 'order.created' });
      const app = await admin.createApp({ name: 'Shop' });
      const ep = await admin.createEndpoint(app.id, { url: rx.url });
      await run(t, api, {
        opsUrl: ops.url,
        settings: {
          retryScheduleMs: [10, 10, 10, 10],
          breaker: { failures: 1000, cooldownMs: 1, maxCooldownMs: 1 },
        },
      });
      const sent = await admin.send(app.id, {
        event_type: 'order.created',
        payload: { i: 1 },
        event_id: 'ord_1',
      });
      await waitFor('dead', async () => {
        const m = await admin.getMessage(app.id, sent.id);
        return m.deliveries[0]?.status === 'dead' ? true : undefined;
      });
      assert.equal(rx.requests.length, 5);
      const exhausted = await waitFor(
        'exhausted',
        async () => (await operational(api, 'message.attempt.exhausted'))[0],
      );
      assert.equal(exhausted.data.msgId, sent.id);
      assert.equal(exhausted.data.msgEventId, 'ord_1');
      assert.equal(exhausted.data.endpointId, ep.id);
      assert.equal((exhausted.data.lastAttempt as { responseStatusCode: number }).responseStatusCode, 500);
      const failingEvents = await operational(api, 'message.attempt.failing');
      assert.equal(failingEvents.length, 1);
      assert.equal(failingEvents[0]?.data.msgId, sent.id);
      await waitFor('both delivered to ops', () => (ops.requests.length >= 2 ? true : undefined));
    });

    test("the endpoint's retry schedule overrides the application's, which overrides the settings'", async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const rx = await receiver(t, () => 500);
      await admin.createEventType({ name: 'order.created' });
      const own = await admin.createApp({ name: 'Own' });
      const inherits = await admin.createApp({ name: 'Inherits' });
      const plain = await admin.createApp({ name: 'Plain' });
      await api.store.webhooks.apps.update(own.id, { retryScheduleMs: [10] }, Date.now());
      await api.store.webhooks.apps.update(inherits.id, { retryScheduleMs: [10] }, Date.now());
      const epOwn = await admin.createEndpoint(own.id, { url: `${rx.url}?own` });
      await admin.createEndpoint(inherits.id, { url: `${rx.url}?inherits` });
      await admin.createEndpoint(plain.id, { url: `${rx.url}?plain` });
      await api.store.webhooks.endpoints.update(
        own.id,
        epOwn.id,
        { retryScheduleMs: [10, 10, 10] },
        Date.now(),
      );
      const messages = [
        { app: own.id, id: (await admin.send(own.id, { event_type: 'order.created', payload: {} })).id },
        {
          app: inherits.id,
          id: (await admin.send(inherits.id, { event_type: 'order.created', payload: {} })).id,
        },
        { app: plain.id, id: (await admin.send(plain.id, { event_type: 'order.created', payload: {} })).id },
      ];
      await run(t, api, {
        settings: { retryScheduleMs: [10, 10], breaker: { failures: 1000, cooldownMs: 1, maxCooldownMs: 1 } },
      });
      const attempts: number[] = [];
      for (const m of messages) {
        const d = await waitFor('dead', async () => {
          const detail = await admin.getMessage(m.app, m.id);
          return detail.deliveries[0]?.status === 'dead' ? detail.deliveries[0] : undefined;
        });
        attempts.push(d.attempts);
      }
      // Endpoint: 3 retries; application: 1; settings: 2.
      assert.deepEqual(attempts, [4, 2, 3]);
    });
  });
}
