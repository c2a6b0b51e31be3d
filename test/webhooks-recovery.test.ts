/**
 * Outbound webhook dead letters and recovery (issue #7 "Dead letters and recovery", Q40) through the
 * admin API and the typed client, on SQLite and PostgreSQL: an endpoint's dead letters in cursor
 * pages; recover since a time (and a running worker delivers what was requeued); bulk retry by event
 * type; resend of a delivered message, of one the endpoint never had, and of one in flight; roles,
 * tenants, audit records and bad inputs.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import {
  rejects,
  startEndpointWorker,
  startWebhookApi,
  type WebhookApi,
} from '../src/admin/routes/webhooks-testing.ts';
import { Snowflake } from '../src/core/ids.ts';
import { receiver, waitFor } from '../src/events/worker-testing.ts';
import { targets } from '../src/store/testing.ts';
import { recoverDeadLetters } from '../src/webhooks/index.ts';

const HOUR = 3_600_000;

/**
 * Messages of `type` sent `at` (their ids carry that time), fanned out to the application's endpoints
 * as a send does, then every due delivery dead-lettered as a worker does when the retries run out.
 */
async function seedDead(api: WebhookApi, appId: string, at: number, type: string, count = 1) {
  const ids = new Snowflake({ nodeId: 9, now: () => at });
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await api.store.webhooks.messages.send(
      { appId, eventType: type, payload: JSON.stringify({ i }), schemaVersion: 0 },
      ids,
      at,
    );
    assert.ok('message' in r);
    sent.push(r.message.id);
  }
  const owner = 'seed';
  for (;;) {
    const claimed = await api.store.deliveries.claim(owner, 500, 60_000, Date.now() + HOUR);
    if (claimed.length === 0) break;
    for (const d of claimed) {
      await api.store.deliveries.deadLetter(d.id, owner, 'destination_status: HTTP 500: boom', 500);
    }
  }
  return sent;
}

async function setup(t: TestContext, target: (typeof targets)[number]) {
  const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
  const admin = api.client();
  for (const name of ['order.created', 'order.paid']) await admin.createEventType({ name });
  const app = await admin.createApp({ name: 'Shop', uid: 'shop' });
  return { api, admin, operator: api.client('operator'), app };
}

for (const target of targets) {
  describe(`outbound webhook dead letters and recovery on ${target.dialect}`, () => {
    test("an endpoint's dead letters are listed newest first in cursor pages, with type, attempts and the last error", async (t) => {
      const { api, admin, app } = await setup(t, target);
      const ep = await admin.createEndpoint(app.id, { url: 'https://a.example/hooks' });
      const other = await admin.createEndpoint(app.id, {
        url: 'https://b.example/hooks',
        filter_types: ['order.paid'],
      });
      const now = Date.now();
      const older = await seedDead(api, app.id, now - 2 * HOUR, 'order.created');
      const newer = await seedDead(api, app.id, now - HOUR, 'order.paid', 2);

      const viewer = api.client('viewer');
      const first = await viewer.deadLetters('shop', ep.id, { limit: 2 });
      assert.deepEqual(
        first.data.map((d) => d.message_id),
        [...newer].reverse(),
      );
      assert.ok(first.next_cursor);
      const second = await viewer.deadLetters('shop', ep.id, { limit: 2, cursor: first.next_cursor });
      assert.deepEqual(
        second.data.map((d) => d.message_id),
        older,
      );
      assert.equal(second.next_cursor, null);
      const d = second.data[0]!;
      assert.equal(d.endpoint_id, ep.id);
      assert.equal(d.event_type, 'order.created');
      assert.equal(d.attempts, 1);
      assert.equal(d.last_status, 500);
      assert.match(d.last_error ?? '', /HTTP 500: boom/);
      assert.equal(d.sent_at, new Date(now - 2 * HOUR).toISOString());
      assert.ok(Date.parse(d.dead_at) >= now);
      assert.deepEqual(
        (await viewer.deadLetters('shop', other.id)).data.map((x) => [x.endpoint_id, x.event_type]),
        [
          [other.id, 'order.paid'],
          [other.id, 'order.paid'],
        ],
        'the other endpoint has its own',
      );
      await rejects(
        viewer.deadLetters('shop', other.id, { cursor: first.next_cursor }),
        400,
        'cursor_invalid',
      );
    });

    test('recover since a time requeues only messages sent at or after it, and a running worker delivers them', async (t) => {
      const { api, admin, operator, app } = await setup(t, target);
      const customer = await receiver(t, () => 204);
      const ep = await admin.createEndpoint(app.id, { url: customer.url });
      const now = Date.now();
      const since = now - HOUR;
      const before = await seedDead(api, app.id, since - 1, 'order.created', 2);
      const atSince = await seedDead(api, app.id, since, 'order.created');
      const after = await seedDead(api, app.id, now - 60_000, 'order.paid', 2);

      const { recovered } = await operator.recoverEndpoint('shop', ep.id, {
        since: new Date(since).toISOString(),
      });
      assert.equal(recovered, 3);
      startEndpointWorker(t, api);
      const wanted = [...atSince, ...after].sort();
      await waitFor('the recovered messages delivered', () => customer.requests.length >= wanted.length);
      const left = await admin.deadLetters('shop', ep.id);
      assert.deepEqual(left.data.map((d) => d.message_id).sort(), [...before].sort(), 'older stay dead');
      assert.deepEqual(
        customer.requests.map((r) => r.id).sort(),
        wanted,
        'each recovered message once, with its id as webhook-id',
      );
      await waitFor('the recovered deliveries done', async () => {
        const detail = await admin.getMessage('shop', after[0]!);
        return detail.deliveries[0]?.status === 'done';
      });

      const audit = api.audit.filter((e) => e.action === 'webhook.endpoint.recover');
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.resource, ep.id);
      assert.deepEqual(audit[0]!.after, {
        app_id: app.id,
        since: new Date(since).toISOString(),
        until: undefined,
        scanned: 3,
        recovered: 3,
      });
      assert.equal(
        (await operator.recoverEndpoint('shop', ep.id, { since: new Date(since).toISOString() })).recovered,
        0,
        'nothing is dead twice',
      );
    });

    test('bulk recover by event type, endpoints and time range requeues only what matches, in pages', async (t) => {
      const { api, admin, operator, app } = await setup(t, target);
      const a = await admin.createEndpoint(app.id, { url: 'https://a.example/hooks' });
      const b = await admin.createEndpoint(app.id, { url: 'https://b.example/hooks' });
      const now = Date.now();
      const created = await seedDead(api, app.id, now - 3 * HOUR, 'order.created', 3);
      const paid = await seedDead(api, app.id, now - 2 * HOUR, 'order.paid', 2);
      const paidLater = await seedDead(api, app.id, now - HOUR, 'order.paid');
      const status = async (msg: string) =>
        Object.fromEntries(
          (await admin.getMessage('shop', msg)).deliveries.map((d) => [d.endpoint_id, d.status]),
        );

      const r1 = await operator.recover('shop', { event_types: ['order.paid'], endpoint_ids: [a.id] });
      assert.equal(r1.recovered, 3, 'order.paid on endpoint a only');
      assert.deepEqual(await status(paid[0]!), { [a.id]: 'pending', [b.id]: 'dead' });
      assert.deepEqual(await status(created[0]!), { [a.id]: 'dead', [b.id]: 'dead' });

      const r2 = await operator.recover('shop', {
        event_types: ['order.paid'],
        until: new Date(now - 90 * 60_000).toISOString(),
      });
      assert.equal(r2.recovered, 2, 'the two older order.paid on b; a has none dead');
      assert.deepEqual(await status(paidLater[0]!), { [a.id]: 'pending', [b.id]: 'dead' });

      const r3 = await operator.recover('shop');
      assert.equal(r3.recovered, 7, 'everything left: 3 created on each endpoint and one paid on b');
      const audit = api.audit.filter((e) => e.action === 'webhook.app.recover');
      assert.deepEqual(
        audit.map((e) => [e.resource, (e.after as { recovered: number }).recovered]),
        [
          [app.id, 3],
          [app.id, 2],
          [app.id, 7],
        ],
      );
      assert.deepEqual((audit[0]!.after as { endpoint_ids: string[] }).endpoint_ids, [a.id]);

      // Pages: a page size of 2 still recovers them all, reporting after each page.
      await seedDead(api, app.id, now - 10 * 60_000, 'order.created', 5);
      const total = await api.store.webhooks.recovery.countDead(a.id);
      assert.equal(total, 11, 'the 5 new and the 6 requeued on a before, dead again');
      const progress: number[] = [];
      const ep = (await api.store.webhooks.endpoints.get(app.id, a.id))!;
      const res = await recoverDeadLetters(api.store, [ep], {
        pageSize: 2,
        onProgress: (p) => progress.push(p.scanned),
      });
      assert.deepEqual([res.recovered, res.total], [11, 11]);
      assert.deepEqual(progress, [2, 4, 6, 8, 10, 11]);
    });

    test('resend delivers a delivered message again with the same webhook-id, reaches an endpoint that never had it, and refuses one in flight', async (t) => {
      const { api, admin, operator, app } = await setup(t, target);
      const customer = await receiver(t, () => 204);
      const ep = await admin.createEndpoint(app.id, { url: customer.url, filter_types: ['order.created'] });
      startEndpointWorker(t, api);
      const sent = await operator.send('shop', { event_type: 'order.created', payload: { id: 'o1' } });
      await waitFor('the first delivery', () => customer.requests.length === 1);
      await waitFor('the delivery done', async () => {
        const d = await admin.getMessage('shop', sent.id);
        return d.deliveries[0]?.status === 'done';
      });

      const resent = await operator.resend('shop', sent.id, ep.id);
      assert.equal(resent.previous_status, 'done');
      await waitFor('the second delivery', () => customer.requests.length === 2);
      assert.deepEqual(
        customer.requests.map((r) => r.id),
        [sent.id, sent.id],
        'the same webhook-id: receivers dedupe by it',
      );
      assert.equal(customer.requests[1]!.body, customer.requests[0]!.body);

      // Filtered out at send time: the endpoint never had it; a resend adds the delivery.
      const paid = await operator.send('shop', { event_type: 'order.paid', payload: { id: 'o2' } });
      assert.equal(paid.endpoints, 0);
      const added = await operator.resend('shop', paid.id, ep.id);
      assert.equal(added.previous_status, null);
      await waitFor('the filtered message delivered', () => customer.requests.some((r) => r.id === paid.id));

      const audit = api.audit.filter((e) => e.action === 'webhook.message.resend');
      assert.deepEqual(
        audit.map((e) => e.resource),
        [sent.id, paid.id],
      );
      assert.equal((audit[0]!.after as { endpoint_id: string }).endpoint_id, ep.id);
    });

    test('a resend of a delivery a worker holds is refused as in flight', async (t) => {
      const { api, admin, operator, app } = await setup(t, target);
      const ep = await admin.createEndpoint(app.id, { url: 'https://a.example/hooks' });
      const sent = await operator.send('shop', { event_type: 'order.created', payload: {} });
      const [held] = await api.store.deliveries.claim('busy-worker', 10, 600_000);
      assert.ok(held);
      const e = await rejects(operator.resend('shop', sent.id, ep.id), 409, 'webhook_delivery_in_flight');
      assert.match(e.message, /right now/);
      assert.equal((await api.store.deliveries.get(held.id))?.leaseOwner, 'busy-worker', 'lease untouched');
      // Once the worker gives it back, the resend goes through.
      await api.store.deliveries.retry(held.id, 'busy-worker', Date.now() + HOUR, 'HTTP 503', 503);
      assert.equal((await operator.resend('shop', sent.id, ep.id)).previous_status, 'pending');
      const row = await api.store.deliveries.get(held.id);
      assert.deepEqual([row?.status, row?.attempts], ['pending', 0]);
      assert.ok(row!.nextAttemptAt! <= Date.now(), 'due now, not in an hour');
    });

    test('viewers read but cannot recover or resend; another tenant cannot see the application', async (t) => {
      const { api, admin, app } = await setup(t, target);
      const ep = await admin.createEndpoint(app.id, { url: 'https://a.example/hooks' });
      const [msg] = await seedDead(api, app.id, Date.now() - HOUR, 'order.created');
      const viewer = api.client('viewer');
      const since = new Date(Date.now() - 2 * HOUR).toISOString();
      assert.equal((await viewer.deadLetters(app.id, ep.id)).data.length, 1);
      await rejects(viewer.recoverEndpoint(app.id, ep.id, { since }), 403, 'admin_forbidden');
      await rejects(viewer.recover(app.id), 403, 'admin_forbidden');
      await rejects(viewer.resend(app.id, msg!, ep.id), 403, 'admin_forbidden');

      const acme = api.client('acme');
      await rejects(acme.deadLetters(app.id, ep.id), 404, 'admin_not_found');
      await rejects(acme.recoverEndpoint(app.id, ep.id, { since }), 404, 'admin_not_found');
      await rejects(acme.recover(app.id), 404, 'admin_not_found');
      await rejects(acme.resend(app.id, msg!, ep.id), 404, 'admin_not_found');
      assert.equal((await admin.deadLetters(app.id, ep.id)).data.length, 1, 'nothing was requeued');
      assert.equal(
        api.audit.filter((e) => /recover|resend/.test(e.action)).length,
        0,
        'refusals change nothing',
      );
    });

    test('bad inputs are problems with stable codes and change nothing', async (t) => {
      const { api, admin, operator, app } = await setup(t, target);
      const ep = await admin.createEndpoint(app.id, { url: 'https://a.example/hooks' });
      const [msg] = await seedDead(api, app.id, Date.now() - HOUR, 'order.created');
      const otherApp = await admin.createApp({ name: 'Other' });
      const foreign = await admin.createEndpoint(otherApp.id, { url: 'https://c.example/hooks' });
      const gone = await admin.createEndpoint(app.id, { url: 'https://d.example/hooks' });
      await admin.deleteEndpoint(app.id, gone.id);
      const off = await admin.createEndpoint(app.id, { url: 'https://e.example/hooks', disabled: true });
      const since = new Date(Date.now() - 2 * HOUR).toISOString();

      await rejects(operator.recoverEndpoint('shop', ep.id, { since: 'yesterday' }), 400, 'admin_validation');
      await rejects(
        operator.recoverEndpoint('shop', ep.id, { since, until: since }),
        400,
        'admin_validation',
      );
      await rejects(
        operator.recoverEndpoint('shop', ep.id, {} as { since: string }),
        400,
        'admin_validation',
      );
      await rejects(operator.recover('shop', { since: '2026-13-01' }), 400, 'admin_validation');
      await rejects(operator.recoverEndpoint('shop', gone.id, { since }), 404, 'admin_not_found');
      await rejects(operator.recoverEndpoint('shop', foreign.id, { since }), 404, 'admin_not_found');
      await rejects(operator.recoverEndpoint('shop', off.id, { since }), 409, 'webhook_endpoint_disabled');
      for (const id of [foreign.id, gone.id, 'ep_0000000000000']) {
        await rejects(operator.recover('shop', { endpoint_ids: [id] }), 422, 'webhook_endpoint_unknown');
        await rejects(operator.resend('shop', msg!, id), 422, 'webhook_endpoint_unknown');
      }
      await rejects(operator.recover('shop', { endpoint_ids: [off.id] }), 409, 'webhook_endpoint_disabled');
      await rejects(operator.resend('shop', msg!, off.id), 409, 'webhook_endpoint_disabled');
      await rejects(operator.resend('shop', 'msg_0000000000000', ep.id), 404, 'admin_not_found');
      await rejects(operator.resend(otherApp.id, msg!, foreign.id), 404, 'admin_not_found');
      await rejects(operator.resend('shop', 'nope', ep.id), 400, 'admin_validation');
      await rejects(operator.recover('nope'), 404, 'admin_not_found');
      assert.equal((await admin.deadLetters('shop', ep.id)).data.length, 1, 'still dead');
      assert.equal(api.audit.filter((e) => /recover|resend/.test(e.action)).length, 0);
    });
  });
}
