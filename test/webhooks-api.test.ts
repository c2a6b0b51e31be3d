/**
 * The outbound webhook admin API end to end on SQLite and PostgreSQL, through the typed client: roles,
 * tenants and audit; event types and schema evolution; sending (validation, fan-out, eventId,
 * Idempotency-Key); endpoint URLs and private addresses; soft delete, restore and purge; cursor pages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rejects, startWebhookApi } from '../src/admin/routes/webhooks-testing.ts';
import { targets } from '../src/store/testing.ts';
import { allPages, purgeWebhooks } from '../src/webhooks/index.ts';

const orderSchema = {
  type: 'object',
  required: ['id', 'total'],
  properties: { id: { type: 'string' }, total: { type: 'integer', minimum: 0 } },
};

for (const target of targets) {
  describe(`outbound webhooks admin API on ${target.dialect}`, () => {
    test('admins manage, operators send, viewers read; tenants see their own; every change is audited', async (t) => {
      const api = await startWebhookApi(t, target);
      const admin = api.client('admin');
      await admin.createEventType({ name: 'order.created' });
      const app = await admin.createApp({ name: 'Shop', uid: 'shop' });
      assert.match(app.id, /^app_/);
      await rejects(admin.createApp({ name: 'Again', uid: 'shop' }), 409, 'webhook_uid_taken');
      assert.equal((await admin.getApp('shop')).id, app.id, 'by uid');

      await rejects(api.client('viewer').createApp({ name: 'x' }), 403, 'admin_forbidden');
      await rejects(api.client('operator').createEndpoint(app.id, { url: 'https://a.example/h' }), 403);
      await rejects(api.client('viewer').send(app.id, { event_type: 'order.created', payload: {} }), 403);
      const sent = await api
        .client('operator')
        .send(app.id, { event_type: 'order.created', payload: { id: 'o1' } });
      assert.equal(sent.status, 202);
      assert.equal((await api.client('viewer').listMessages(app.id)).data[0]?.id, sent.id);
      await rejects(api.client('viewer').endpointSecret(app.id, 'ep_0000000000000'), 403);

      const acme = api.client('acme');
      const acmeApp = await acme.createApp({ name: 'Acme', uid: 'shop', tenant: 'ignored-for-scoped' });
      assert.equal(acmeApp.tenant, 'acme', 'a scoped caller creates in its tenant');
      assert.deepEqual(
        (await acme.listApps()).data.map((a) => a.id),
        [acmeApp.id],
      );
      await rejects(acme.getApp(app.id), 404, 'admin_not_found');
      await rejects(acme.createEventType({ name: 'x.y' }), 403, 'admin_forbidden');
      assert.equal((await admin.listApps()).data.length, 2, 'an unscoped admin sees every tenant');

      const actions = api.audit.map((e) => e.action);
      for (const a of ['webhook.event-type.create', 'webhook.app.create', 'webhook.message.send']) {
        assert.ok(actions.includes(a), a);
      }
      assert.ok(
        api.audit.every((e) => !JSON.stringify(e).includes('whsec_')),
        'no secret in the audit log',
      );
    });

    test('schema versions are checked for compatibility and payloads validated against the current one', async (t) => {
      const api = await startWebhookApi(t, target);
      const admin = api.client();
      const type = await admin.createEventType({
        name: 'order.created',
        description: 'An order',
        schema: orderSchema,
      });
      assert.equal(type.version, 1);

      const v2 = await admin.addSchema('order.created', {
        ...orderSchema,
        properties: { ...orderSchema.properties, note: { type: 'string' } },
      });
      assert.equal(v2.version, 2, 'an optional field passes');
      const removed = await rejects(
        admin.addSchema('order.created', {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string' } },
        }),
        409,
        'webhook_schema_incompatible',
      );
      assert.match(removed.message, /\/total \(backward\): required field removed/);
      assert.equal((removed.problem.issues as unknown[]).length, 1);
      const retyped = await rejects(
        admin.addSchema('order.created', {
          ...orderSchema,
          properties: { ...orderSchema.properties, total: { type: 'string' } },
        }),
        409,
      );
      assert.match(retyped.message, /\/total .*integer/);
      await rejects(
        admin.addSchema('order.created', { ...orderSchema, required: ['id', 'total', 'currency'] }),
        409,
        'webhook_schema_incompatible',
      );
      const forward = await admin.addSchema(
        'order.created',
        {
          ...orderSchema,
          required: ['id', 'total', 'currency'],
          properties: { ...orderSchema.properties, currency: { type: 'string' } },
        },
        'forward',
      );
      assert.equal(forward.compatibility, 'forward');
      await rejects(admin.addSchema('order.created', { type: 'nope' }), 422, 'webhook_schema_invalid');
      assert.deepEqual(
        (await admin.schemas('order.created')).map((s) => s.version),
        [1, 2, 3],
      );

      const app = await admin.createApp({ name: 'Shop' });
      const bad = await rejects(
        admin.send(app.id, { event_type: 'order.created', payload: { id: 'o1', total: -1 } }),
        422,
        'webhook_payload_invalid',
      );
      assert.match(bad.message, /currency|total/);
      await rejects(
        admin.send(app.id, { event_type: 'nope', payload: {} }),
        422,
        'webhook_event_type_unknown',
      );
      const ok = await admin.send(app.id, {
        event_type: 'order.created',
        payload: { id: 'o1', total: 5, currency: 'EUR' },
      });
      assert.equal(ok.schema_version, 3);
    });

    test('event types are listed by page number with the total', async (t) => {
      const api = await startWebhookApi(t, target);
      const admin = api.client();
      for (let i = 0; i < 7; i++) await admin.createEventType({ name: `type.${i}` });
      await admin.archiveEventType('type.6');
      const page = await admin.listEventTypes({ page: 2, per_page: 4 });
      assert.deepEqual(
        page.data.map((t) => t.name),
        ['type.4', 'type.5'],
      );
      assert.deepEqual([page.total, page.total_pages, page.page], [6, 2, 2]);
      await rejects(admin.createEventType({ name: 'type.1' }), 409, 'webhook_event_type_exists');
      assert.equal(
        (await admin.createEventType({ name: 'type.6' })).archived_at,
        null,
        'an archived type comes back',
      );
    });

    test('a send fans out to matching endpoints once per eventId and once per Idempotency-Key', async (t) => {
      const api = await startWebhookApi(t, target);
      const admin = api.client();
      await admin.createEventType({ name: 'order.created' });
      await admin.createEventType({ name: 'invoice.paid' });
      const app = await admin.createApp({ name: 'Shop' });
      const all = await admin.createEndpoint(app.id, { url: 'https://hooks.example.com/all' });
      const invoices = await admin.createEndpoint(app.id, {
        url: 'https://hooks.example.com/inv',
        filter_types: ['invoice.paid'],
      });
      await admin.createEndpoint(app.id, { url: 'https://hooks.example.com/off', disabled: true });

      const first = await admin.send(app.id, {
        event_type: 'order.created',
        payload: { n: 1 },
        event_id: 'order-1',
      });
      assert.deepEqual([first.status, first.duplicate, first.endpoints], [202, false, 1]);
      const detail = await admin.getMessage(app.id, first.id);
      assert.deepEqual(
        detail.deliveries.map((d) => [d.endpoint_id, d.status]),
        [[all.id, 'pending']],
      );
      const again = await admin.send(app.id, {
        event_type: 'order.created',
        payload: { n: 2 },
        event_id: 'order-1',
      });
      assert.deepEqual([again.status, again.duplicate, again.id], [200, true, first.id]);

      const body = { event_type: 'invoice.paid', payload: { n: 3 } };
      const keyed = await admin.send(app.id, body, { idempotencyKey: 'k-1' });
      assert.deepEqual([keyed.status, keyed.replayed, keyed.endpoints], [202, false, 2]);
      const replay = await admin.send(app.id, body, { idempotencyKey: 'k-1' });
      assert.deepEqual([replay.status, replay.replayed, replay.id], [202, true, keyed.id]);
      await rejects(
        admin.send(app.id, { ...body, payload: { n: 4 } }, { idempotencyKey: 'k-1' }),
        422,
        'webhook_idempotency_key_mismatch',
      );
      // Another caller's key of the same name is another key.
      const other = await api.client('operator').send(app.id, body, { idempotencyKey: 'k-1' });
      assert.notEqual(other.id, keyed.id);
      assert.equal((await admin.listMessages(app.id)).data.length, 3);
      assert.ok(
        (await admin.getMessage(app.id, keyed.id)).deliveries.some((d) => d.endpoint_id === invoices.id),
      );
    });

    test('endpoint URLs to loopback, private or metadata addresses are refused unless allowed', async (t) => {
      const api = await startWebhookApi(t, target);
      const admin = api.client();
      const app = await admin.createApp({ name: 'Shop' });
      for (const url of [
        'http://127.0.0.1:9000/h',
        'http://10.1.2.3/h',
        'http://169.254.169.254/latest/meta-data',
        'http://[::1]/h',
        'http://[fd00::1]/h',
        'http://100.64.0.1/h',
        'http://localhost:9000/h',
      ]) {
        await rejects(admin.createEndpoint(app.id, { url }), 422, 'webhook_url_forbidden');
      }
      await rejects(
        admin.createEndpoint(app.id, { url: 'ftp://files.example.com/' }),
        422,
        'webhook_url_invalid',
      );
      await rejects(
        admin.createEndpoint(app.id, { url: 'https://u:p@hooks.example.com/' }),
        422,
        'webhook_url_invalid',
      );
      const ep = await admin.createEndpoint(app.id, { url: 'https://hooks.example.com/h' });
      await rejects(
        admin.updateEndpoint(app.id, ep.id, { url: 'http://192.168.1.1/' }),
        422,
        'webhook_url_forbidden',
      );
      await rejects(
        admin.createEndpoint(app.id, { url: 'https://hooks.example.com/h', headers: { 'webhook-id': 'x' } }),
        400,
      );

      const lab = await startWebhookApi(t, target, {
        allowHosts: ['127.0.0.1', '10.0.0.0/8'],
        httpsOnly: false,
      });
      const labApp = await lab.client().createApp({ name: 'Lab' });
      await lab.client().createEndpoint(labApp.id, { url: 'http://127.0.0.1:9000/h' });
      await lab.client().createEndpoint(labApp.id, { url: 'http://10.9.8.7/h' });
      await rejects(lab.client().createEndpoint(labApp.id, { url: 'http://192.168.0.1/h' }), 422);
      const strict = await startWebhookApi(t, target, { httpsOnly: true });
      const strictApp = await strict.client().createApp({ name: 'Strict' });
      await rejects(
        strict.client().createEndpoint(strictApp.id, { url: 'http://hooks.example.com/' }),
        422,
        'webhook_url_invalid',
      );
    });

    test('deleted endpoints and applications are hidden and sent nothing, restored within retention, then purged', async (t) => {
      const api = await startWebhookApi(t, target);
      const admin = api.client();
      await admin.createEventType({ name: 'ping' });
      const app = await admin.createApp({ name: 'Shop', uid: 'shop' });
      const ep = await admin.createEndpoint(app.id, { url: 'https://hooks.example.com/h', uid: 'main' });
      const keep = await admin.createEndpoint(app.id, { url: 'https://hooks.example.com/k' });

      const deleted = await admin.deleteEndpoint(app.id, ep.id);
      assert.ok(deleted.deleted_at);
      await rejects(admin.getEndpoint(app.id, ep.id), 404);
      assert.deepEqual(
        (await admin.listEndpoints(app.id)).data.map((e) => e.id),
        [keep.id],
      );
      const sent = await admin.send(app.id, { event_type: 'ping', payload: {} });
      assert.equal(sent.endpoints, 1, 'no fan-out to a deleted endpoint');
      const restored = await admin.restoreEndpoint(app.id, ep.id);
      assert.equal(restored.deleted_at, null);
      assert.equal((await admin.send(app.id, { event_type: 'ping', payload: {} })).endpoints, 2);

      await admin.deleteApp(app.id);
      await rejects(admin.getApp('shop'), 404);
      await rejects(admin.send(app.id, { event_type: 'ping', payload: {} }), 404);
      assert.equal((await admin.listApps()).data.length, 0);
      const other = await admin.createApp({ name: 'New shop', uid: 'shop' });
      await rejects(admin.restoreApp(app.id), 409, 'webhook_not_restorable');
      await admin.deleteApp(other.id);
      assert.equal((await admin.restoreApp(app.id)).deleted_at, null);
      const actions = api.audit.map((e) => e.action);
      for (const a of [
        'webhook.endpoint.delete',
        'webhook.endpoint.restore',
        'webhook.app.delete',
        'webhook.app.restore',
      ]) {
        assert.ok(actions.includes(a), a);
      }

      // Past retention: not restorable, and the purge removes it.
      const expired = await startWebhookApi(t, target, { deletedRetentionMs: 0 });
      const gone = await expired.client().createApp({ name: 'Gone' });
      await expired.client().deleteApp(gone.id);
      await new Promise((r) => setTimeout(r, 5));
      await rejects(expired.client().restoreApp(gone.id), 409, 'webhook_not_restorable');
      assert.deepEqual(await purgeWebhooks(expired.store, expired.settings), {
        apps: 1,
        endpoints: 0,
        payloads: 0,
      });
      await rejects(expired.client().restoreApp(gone.id), 404);
    });

    test('cursor pages default to 50, stop at 250, and hold still while messages are sent', async (t) => {
      const api = await startWebhookApi(t, target);
      const admin = api.client();
      await admin.createEventType({ name: 'tick' });
      const app = await admin.createApp({ name: 'Shop' });
      for (let i = 0; i < 60; i++) await admin.send(app.id, { event_type: 'tick', payload: { i } });
      const first = await admin.listMessages(app.id);
      assert.equal(first.data.length, 50);
      assert.ok(first.next_cursor);
      await rejects(admin.listMessages(app.id, { limit: 251 }), 400);
      await rejects(admin.listEndpoints(app.id, { cursor: first.next_cursor }), 400, 'cursor_invalid');

      const seen: number[] = [];
      let sent = 60;
      for await (const m of allPages((p) => admin.listMessages(app.id, { ...p, limit: 7 }))) {
        seen.push((m.payload as { i: number }).i);
        if (seen.length % 7 === 0) await admin.send(app.id, { event_type: 'tick', payload: { i: sent++ } });
      }
      assert.deepEqual(
        seen,
        Array.from({ length: 60 }, (_, i) => 59 - i),
        'each message present at the start once, in order; none sent meanwhile',
      );
    });

    test('the routes are in the OpenAPI document', async (t) => {
      const api = await startWebhookApi(t, target);
      const doc = (await (await fetch(`${api.baseUrl}/admin/v1/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      for (const path of [
        '/admin/v1/apps',
        '/admin/v1/apps/{app}/endpoints/{endpoint}/secret/rotate',
        '/admin/v1/apps/{app}/messages',
        '/admin/v1/apps/{app}/attempts',
        '/admin/v1/event-types/{name}/schemas',
      ]) {
        assert.ok(path in doc.paths, path);
      }
    });
  });
}
