/**
 * Retries of outbound webhook deliveries (issue #7, Q8, Q20): a running gateway follows the
 * `webhooks.retryScheduleMs` schedule (tiny here), and a 410 Gone disables the endpoint. The delay
 * function itself (`scheduledStep`: jitter, Retry-After bounds, the slow-down floor) is unit-tested
 * with a seeded random.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { startEndpointWorker, startWebhookApi } from '../src/admin/routes/webhooks-testing.ts';
import type { AuditEntry } from '../src/core/audit.ts';
import { type RetrySchedule, scheduledStep } from '../src/events/retry-schedule.ts';
import { waitFor } from '../src/events/worker-testing.ts';
import { targets } from '../src/store/testing.ts';
import { createWebhookClient, DEFAULT_RETRY_SCHEDULE_MS, webhookSettings } from '../src/webhooks/index.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { startReceiver } from './helpers/receiver.ts';

/** A receiver answering the listed statuses in turn (the last one from then on). */
async function receiver(t: TestContext, statuses: number[]) {
  /** When each request arrived. */
  const hits: number[] = [];
  const { url } = await startReceiver(t, (res) => {
    hits.push(Date.now());
    res.statusCode = statuses[Math.min(hits.length, statuses.length) - 1] as number;
    res.end();
  });
  return { url, hits };
}

/** mulberry32: a seeded random, so jittered delays are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const schedule: RetrySchedule = {
  delaysMs: DEFAULT_RETRY_SCHEDULE_MS,
  jitter: 0.2,
  maxRetryAfterMs: 36_000_000,
  slowDownMs: 60_000,
};
const failed = { code: 'destination_status', status: 500 };

test('the default schedule: 7 retries after the first attempt, each within ±20 % of its delay', () => {
  assert.deepEqual(
    DEFAULT_RETRY_SCHEDULE_MS,
    [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
  );
  assert.deepEqual(webhookSettings().retryScheduleMs, DEFAULT_RETRY_SCHEDULE_MS);
  const random = seeded(7);
  for (let round = 0; round < 200; round++) {
    for (let attempts = 1; attempts <= 7; attempts++) {
      const step = scheduledStep(attempts, schedule, failed, random);
      assert.equal(step.kind, 'retry');
      const base = DEFAULT_RETRY_SCHEDULE_MS[attempts - 1] as number;
      const delay = step.kind === 'retry' ? step.delayMs : -1;
      assert.ok(delay >= base * 0.8 && delay <= Math.ceil(base * 1.2), `${attempts}: ${delay}`);
    }
  }
  assert.deepEqual(scheduledStep(8, schedule, failed, random), { kind: 'dead' });
  // Seeded: the same delays on every run.
  const a = seeded(42);
  const b = seeded(42);
  assert.deepEqual(scheduledStep(3, schedule, failed, a), scheduledStep(3, schedule, failed, b));
  // The extremes of the jitter.
  assert.deepEqual(
    scheduledStep(1, schedule, failed, () => 0),
    { kind: 'retry', delayMs: 4_000 },
  );
  assert.deepEqual(
    scheduledStep(1, schedule, failed, () => 0.5),
    { kind: 'retry', delayMs: 5_000 },
  );
});

test('Retry-After is honoured up to maxRetryAfterMs; 429, 502, 504 and timeouts wait at least slowDownMs', () => {
  const mid = () => 0.5;
  const step = (outcome: { code: string; status?: number; retryAfterMs?: number }) =>
    scheduledStep(1, schedule, outcome, mid);
  // A 503 asking for 2 min gets 2 min, longer than the scheduled 5 s; an absurd ask is cut to 10 h.
  assert.deepEqual(step({ ...failed, status: 503, retryAfterMs: 120_000 }), {
    kind: 'retry',
    delayMs: 120_000,
  });
  assert.deepEqual(step({ ...failed, status: 503, retryAfterMs: 1e9 }), {
    kind: 'retry',
    delayMs: 36_000_000,
  });
  // Retry-After: 1 on a 429 still waits the 60 s floor.
  assert.deepEqual(step({ ...failed, status: 429, retryAfterMs: 1_000 }), { kind: 'retry', delayMs: 60_000 });
  for (const status of [429, 502, 504]) {
    assert.deepEqual(step({ ...failed, status }), { kind: 'retry', delayMs: 60_000 }, `${status}`);
  }
  assert.deepEqual(step({ code: 'destination_timeout' }), { kind: 'retry', delayMs: 60_000 });
  // A 500 or a refused connection keeps the schedule.
  assert.deepEqual(step(failed), { kind: 'retry', delayMs: 5_000 });
  assert.deepEqual(step({ code: 'destination_unreachable' }), { kind: 'retry', delayMs: 5_000 });
  // Later retries are longer than the floor anyway.
  assert.deepEqual(scheduledStep(2, schedule, { ...failed, status: 429 }, mid), {
    kind: 'retry',
    delayMs: 300_000,
  });
});

test('a running gateway retries a failed delivery on the settings schedule and delivers it on attempt 3', async (t) => {
  const gw = await startTestGateway(t, {
    webhooks: { allowHosts: ['127.0.0.1'], retryScheduleMs: [50, 100], retryJitter: 0.2 },
    events: { worker: { idlePollMs: 10 } },
  });
  const admin = createWebhookClient({ baseUrl: gw.gateway.adminUrl, token: gw.gateway.adminToken });
  const rx = await receiver(t, [500, 500, 204]);
  await admin.createEventType({ name: 'order.created' });
  const app = await admin.createApp({ name: 'Shop' });
  const ep = await admin.createEndpoint(app.id, { url: rx.url });
  const sent = await admin.send(app.id, { event_type: 'order.created', payload: { id: 'o1' } });

  const detail = await waitFor('the delivery done', async () => {
    const m = await admin.getMessage(app.id, sent.id);
    return m.deliveries[0]?.status === 'done' ? m : undefined;
  });
  assert.equal(detail.deliveries[0]?.attempts, 3);
  assert.equal(rx.hits.length, 3);
  const [h1, h2, h3] = rx.hits as [number, number, number];
  assert.ok(h2 - h1 >= 40, `first gap ${h2 - h1} ms`);
  assert.ok(h3 - h2 >= 80, `second gap ${h3 - h2} ms`);
  const attempts = await admin.listAttempts(app.id, { message_id: sent.id, endpoint_id: ep.id });
  assert.deepEqual(attempts.data.map((a) => a.response_status).sort(), [204, 500, 500]);
});

test('a running gateway dead-letters a delivery answered 410 and disables the endpoint', async (t) => {
  const gw = await startTestGateway(t, {
    webhooks: { allowHosts: ['127.0.0.1'], retryScheduleMs: [50, 100] },
    events: { worker: { idlePollMs: 10 } },
  });
  const admin = createWebhookClient({ baseUrl: gw.gateway.adminUrl, token: gw.gateway.adminToken });
  const rx = await receiver(t, [410]);
  await admin.createEventType({ name: 'order.created' });
  const app = await admin.createApp({ name: 'Shop' });
  const ep = await admin.createEndpoint(app.id, { url: rx.url });
  const sent = await admin.send(app.id, { event_type: 'order.created', payload: { id: 'o1' } });

  const detail = await waitFor('the delivery dead', async () => {
    const m = await admin.getMessage(app.id, sent.id);
    return m.deliveries[0]?.status === 'dead' ? m : undefined;
  });
  assert.equal(detail.deliveries[0]?.attempts, 1);
  assert.equal(detail.deliveries[0]?.last_status, 410);
  assert.match(detail.deliveries[0]?.last_error ?? '', /^destination_gone/);
  const disabled = await waitFor('the endpoint disabled', async () => {
    const e = await admin.getEndpoint(app.id, ep.id);
    return e.disabled ? e : undefined;
  });
  assert.equal(disabled.disabled, true);

  // A later message is not sent to the disabled endpoint.
  const later = await admin.send(app.id, { event_type: 'order.created', payload: { id: 'o2' } });
  assert.equal(later.endpoints, 0);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(rx.hits.length, 1);
});

for (const target of targets) {
  describe(`410 Gone on ${target.dialect}`, () => {
    test('disables the endpoint as an audited system action; its next queued delivery waits', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const rx = await receiver(t, [410]);
      await admin.createEventType({ name: 'order.created' });
      const app = await admin.createApp({ name: 'Shop' });
      const ep = await admin.createEndpoint(app.id, { url: rx.url });
      const first = await admin.send(app.id, { event_type: 'order.created', payload: { id: 'o1' } });
      const second = await admin.send(app.id, { event_type: 'order.created', payload: { id: 'o2' } });

      const audit: AuditEntry[] = [];
      const services = {
        ...api.services,
        audit: { record: (e: AuditEntry) => audit.push(e), flush: async () => {} },
      };
      const { worker } = startEndpointWorker(t, api, {
        services,
        worker: { idlePollMs: 10, concurrency: 1 },
      });

      const dead = await waitFor('a delivery dead', async () => {
        for (const id of [first.id, second.id]) {
          const m = await admin.getMessage(app.id, id);
          if (m.deliveries[0]?.status === 'dead') return m;
        }
        return undefined;
      });
      assert.equal(dead.deliveries[0]?.last_status, 410);
      assert.equal((await admin.getEndpoint(app.id, ep.id)).disabled, true);
      const entry = await waitFor('the audit entry', () => audit.find((e) => e.resource === ep.id));
      assert.equal(entry.action, 'webhook.endpoint.update');
      assert.deepEqual(entry.actor, { kind: 'system', id: 'webhook-delivery' });
      assert.equal(entry.reason, 'destination_gone');
      assert.equal((entry.after as { disabled: boolean }).disabled, true);

      // The other message's delivery is claimed and given back unsent while the endpoint is disabled.
      // The worker is stopped before looking: while it runs, the delivery is leased for a moment on
      // every recheck, and a look at that moment would see `leased`.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await worker.close();
      assert.equal(rx.hits.length, 1);
      const other = await admin.getMessage(app.id, dead.id === first.id ? second.id : first.id);
      assert.equal(other.deliveries[0]?.status, 'pending');
      assert.equal(other.deliveries[0]?.attempts, 0);
    });
  });
}
