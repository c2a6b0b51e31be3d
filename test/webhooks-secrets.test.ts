/**
 * Outbound webhook keys and the attempt log (issue #7): endpoint secrets and Ed25519 signing keys are
 * sealed at rest with `webhooks.encryptionKey` (a database copy reveals no key, a sealed secret moved
 * to another endpoint does not open, a retired key still opens what it sealed); `ed25519: true` adds
 * `v1a` signatures that verify with the public key alone; every attempt keeps the answer's header
 * fields and at most 20 kB of its body; schedules and limits round-trip through the API.
 */
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startEndpointWorker, startWebhookApi } from '../src/admin/routes/webhooks-testing.ts';
import { waitFor } from '../src/events/worker-testing.ts';
import { targets } from '../src/store/testing.ts';
import { WebhookApiError } from '../src/webhooks/index.ts';
import { startReceiver } from './helpers/receiver.ts';

const key = () => randomBytes(32).toString('base64');

async function problemOf(p: Promise<unknown>): Promise<{ status: number; code: string | undefined }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WebhookApiError) return { status: err.status, code: err.code };
    throw err;
  }
  assert.fail('expected a problem answer');
}

for (const target of targets) {
  describe(`outbound webhook keys and attempts on ${target.dialect}`, () => {
    test('secrets are sealed at rest, open only for their endpoint, and sign what receivers verify', async (t) => {
      const oldKey = key();
      const api = await startWebhookApi(t, target, {
        allowHosts: ['127.0.0.1'],
        encryptionKey: oldKey,
        keyVersion: 1,
      });
      const admin = api.client();
      const hook = await startReceiver(t, (res) => res.writeHead(204).end());
      await admin.createEventType({ name: 'ping' });
      const app = await admin.createApp({ name: 'Sealed' });
      const ep = await admin.createEndpoint(app.id, { url: hook.url, ed25519: true });
      const other = await admin.createEndpoint(app.id, { url: hook.url });
      const secret = await admin.endpointSecret(app.id, ep.id);
      assert.match(secret.key, /^whsec_/);

      const row = await api.store.db
        .selectFrom('webhook_endpoints')
        .select(['secret', 'signing_key'])
        .where('id', '=', ep.id)
        .executeTakeFirstOrThrow();
      assert.match(row.secret, /^enc:1\./, 'sealed with key version 1');
      assert.ok(!row.secret.includes(secret.key.slice(6)), 'the database holds no key');
      assert.match(row.signing_key ?? '', /^enc:1\./);

      const rotated = await admin.rotateSecret(app.id, ep.id, { grace_ms: 60_000 });
      const after = await api.store.webhooks.endpoints.byId(ep.id);
      assert.match(
        after?.previousSecrets[0]?.secret ?? '',
        /^enc:1\./,
        'the rotated-out secret stays sealed',
      );
      assert.equal(rotated.previous[0]?.key, secret.key);

      // Key rotation: version 2 is current, version 1 retired but still opens what it sealed.
      api.settings = {
        ...api.settings,
        encryptionKey: key(),
        keyVersion: 2,
        previousKeys: [{ version: 1, key: oldKey }],
      };
      assert.equal((await admin.endpointSecret(app.id, ep.id)).key, rotated.key);
      const third = await admin.rotateSecret(app.id, ep.id, {});
      const sealed = await api.store.webhooks.endpoints.byId(ep.id);
      assert.match(sealed?.secret ?? '', /^enc:2\./, 'new seals use the current key');

      startEndpointWorker(t, api);
      await admin.send(app.id, { event_type: 'ping', payload: { n: 1 } });
      const hit = await waitFor('a delivery to the sealed endpoint', () =>
        hook.hits.find((h) => String(h.headers['webhook-signature']).includes('v1a,')),
      );
      const headers = hit.headers as Record<string, string>;
      for (const k of [third.key, rotated.key])
        assert.deepEqual(new Webhook(k).verify(hit.body, headers), { n: 1 });
      const publicKey = third.public_key ?? '';
      assert.match(publicKey, /^whpk_/);
      const x = Buffer.from(publicKey.slice(5), 'base64').toString('base64url');
      const v1a = headers['webhook-signature']!.split(' ').find((s) => s.startsWith('v1a,'))!;
      const content = Buffer.from(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${hit.body}`);
      const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
      assert.ok(verify(null, content, pub, Buffer.from(v1a.slice(4), 'base64')), 'v1a verifies with whpk_');

      // A sealed secret copied into another endpoint's row does not open there.
      await api.store.db
        .updateTable('webhook_endpoints')
        .set({ secret: sealed?.secret ?? '' })
        .where('id', '=', other.id)
        .execute();
      assert.deepEqual(await problemOf(admin.endpointSecret(app.id, other.id)), {
        status: 500,
        code: 'webhook_secret_unreadable',
      });
      // Without the keys nothing opens: the answer says why instead of sending garbage.
      api.settings = { ...api.settings, encryptionKey: undefined, previousKeys: [] };
      assert.equal((await problemOf(admin.endpointSecret(app.id, ep.id))).code, 'webhook_secret_unreadable');

      const dropped = await admin.updateEndpoint(app.id, ep.id, { ed25519: false });
      assert.equal(dropped.ed25519, false);
      assert.equal((await api.store.webhooks.endpoints.byId(ep.id))?.signingKey, null);
    });

    test('without an encryption key secrets are stored as given; an existing plain secret stays readable once one is set', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const app = await admin.createApp({ name: 'Plain' });
      const ep = await admin.createEndpoint(app.id, { url: 'http://127.0.0.1:9/h' });
      const { key: plain, public_key } = await admin.endpointSecret(app.id, ep.id);
      assert.equal(public_key, null);
      assert.equal((await api.store.webhooks.endpoints.byId(ep.id))?.secret, plain);
      api.settings = { ...api.settings, encryptionKey: key() };
      assert.equal((await admin.endpointSecret(app.id, ep.id)).key, plain);
    });

    test('each attempt keeps the header fields and at most 20 kB of the answer', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'], retryScheduleMs: [] });
      const admin = api.client();
      const hook = await startReceiver(t, (res) => {
        res.setHeader('x-request-id', 'req-42');
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`failure ${'z'.repeat(50_000)}`);
      });
      await admin.createEventType({ name: 'ping' });
      const app = await admin.createApp({ name: 'Logged' });
      const ep = await admin.createEndpoint(app.id, { url: hook.url });
      startEndpointWorker(t, api);
      const sent = await admin.send(app.id, { event_type: 'ping', payload: { n: 2 } });
      const attempt = await waitFor(
        'the failed attempt',
        async () => (await admin.listAttempts(app.id, { message_id: sent.id })).data[0],
      );
      assert.equal(attempt.endpoint_id, ep.id);
      assert.equal(attempt.response_status, 500);
      assert.equal(attempt.response_headers?.['x-request-id'], 'req-42');
      assert.equal(attempt.response_headers?.['content-type'], 'text/plain');
      assert.match(attempt.response_body ?? '', /^failure z+/);
      assert.ok(
        (attempt.response_body ?? '').length <= 20_000,
        `${attempt.response_body?.length} characters kept`,
      );
      assert.ok((attempt.response_body ?? '').length >= 19_000, 'as much as the limit allows');
      assert.ok((attempt.error ?? '').length < 4_200, 'the error text stays short');
    });

    test('retry schedules and limits of applications and endpoints round-trip; bad ones are refused', async (t) => {
      const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
      const admin = api.client();
      const app = await admin.createApp({ name: 'Tuned', retry_schedule_ms: [1_000, 60_000] });
      assert.deepEqual(app.retry_schedule_ms, [1_000, 60_000]);
      const ep = await admin.createEndpoint(app.id, {
        url: 'http://127.0.0.1:9/h',
        retry_schedule_ms: [5],
        max_concurrency: 2,
        rate_limit: 10,
      });
      assert.deepEqual(
        [ep.retry_schedule_ms, ep.max_concurrency, ep.rate_limit, ep.failing_since],
        [[5], 2, 10, null],
      );
      const patched = await admin.updateEndpoint(app.id, ep.id, {
        retry_schedule_ms: null,
        max_concurrency: null,
      });
      assert.deepEqual([patched.retry_schedule_ms, patched.max_concurrency], [null, null]);
      assert.deepEqual((await admin.updateApp(app.id, { retry_schedule_ms: [] })).retry_schedule_ms, []);
      // A one-element list and null must not be coerced into each other (Ajv coerceTypes: 'array').
      const one = await admin.updateEndpoint(app.id, ep.id, { retry_schedule_ms: [0], filter_types: ['a'] });
      assert.deepEqual([one.retry_schedule_ms, one.filter_types], [[0], ['a']]);
      const none = await admin.updateEndpoint(app.id, ep.id, { filter_types: null, channels: null });
      assert.deepEqual([none.filter_types, none.channels], [null, null]);
      for (const body of [
        { retry_schedule_ms: [-1] },
        { max_concurrency: 0 },
        { retry_schedule_ms: Array(51).fill(1) },
      ]) {
        assert.equal(
          (await problemOf(admin.updateEndpoint(app.id, ep.id, body))).status,
          400,
          JSON.stringify(body).slice(0, 40),
        );
      }
    });
  });
}
