/**
 * `core.idempotency` end to end, on each store (SQLite, PostgreSQL, Redis): replay, mismatch,
 * key validation, scoping, metrics. Concurrency is in idempotency-concurrency.test.ts, what releases
 * a key and what keeps it locked in idempotency-release.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BACKENDS,
  idempotencyMetrics,
  send,
  sendOnceStored,
  startIdempotentGateways,
  startPayments,
} from './helpers/idempotency.ts';

const BODY = JSON.stringify({ amount: 1250, currency: 'EUR' });

for (const backend of BACKENDS) {
  describe(`core.idempotency on ${backend}`, () => {
    test('the first request executes; a retry replays it byte for byte with Idempotent-Replayed', async (t) => {
      const pay = await startPayments(t);
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url);
      const first = await send(gw!, { key: 'order-1', body: BODY });
      assert.equal(first.status, 201);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      // Sent again on a 409: the client may have the whole answer a moment before it is stored.
      const again = await sendOnceStored(gw!, { key: 'order-1', body: BODY });
      assert.equal(again.status, 201);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.deepEqual(again.body, first.body);
      assert.equal(again.headers.location, first.headers.location);
      assert.equal(again.headers['x-payment-execution'], '1');
      assert.equal(again.headers['content-type'], 'application/json');
      // A cookie belongs to the client that got it; the replay has a fresh request id of its own.
      assert.equal(first.headers['set-cookie']?.length, 1);
      assert.equal(again.headers['set-cookie'], undefined);
      assert.notEqual(again.headers['x-request-id'], first.headers['x-request-id']);
      assert.equal(pay.executions(), 1);
      // The key reaches the upstream unchanged, so it can check it too.
      assert.deepEqual(pay.keys, ['order-1']);
    });

    test('the same key with another body, path or method is 422 idempotency_key_mismatch', async (t) => {
      const pay = await startPayments(t);
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url);
      assert.equal((await send(gw!, { key: 'k', body: BODY })).status, 201);
      for (const s of [
        { body: JSON.stringify({ amount: 9999, currency: 'EUR' }) },
        { body: BODY, path: '/payments?capture=false' },
        { body: BODY, path: '/refunds' },
        { body: BODY, method: 'PATCH' },
      ]) {
        const r = await send(gw!, { key: 'k', ...s });
        assert.equal(r.status, 422, JSON.stringify(s));
        assert.equal(r.json().code, 'idempotency_key_mismatch');
        assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
      }
      assert.equal(pay.executions(), 1);
    });

    test('keys are checked: missing when required, malformed, or sent twice is 400', async (t) => {
      const pay = await startPayments(t);
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url, { policy: { required: true } });
      const missing = await send(gw!, { body: BODY });
      assert.equal(missing.status, 400);
      assert.equal(missing.json().code, 'idempotency_key_missing');
      for (const key of ['x'.repeat(256), 'caf\u00e9', '"unterminated', '"a"b"', ['a', 'b'], '""']) {
        const r = await send(gw!, { key: key as string, body: BODY });
        assert.equal(r.status, 400, JSON.stringify(key));
        assert.equal(r.json().code, 'idempotency_key_invalid');
      }
      assert.equal(pay.executions(), 0);
      // RFC 8941 quoted form (the IETF draft's) and Stripe's bare form name the same key.
      assert.equal((await send(gw!, { key: '"8e03978e-40d5"', body: BODY })).status, 201);
      const bare = await sendOnceStored(gw!, { key: '8e03978e-40d5', body: BODY });
      assert.equal(bare.headers['idempotent-replayed'], 'true');
      assert.equal((await send(gw!, { key: 'x'.repeat(255), body: BODY })).status, 201);
      assert.equal(pay.executions(), 2);
    });

    test('safe methods and requests without a key pass through untouched', async (t) => {
      const pay = await startPayments(t);
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url);
      for (let i = 0; i < 2; i++) {
        assert.equal((await send(gw!, { method: 'GET', key: 'k' })).status, 201);
        assert.equal((await send(gw!, { body: BODY })).status, 201);
      }
      assert.equal(pay.executions(), 4);
    });

    test('chunked bodies are fingerprinted and still reach the upstream whole', async (t) => {
      const pay = await startPayments(t);
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url);
      const big = JSON.stringify({ amount: 1, note: 'n'.repeat(200_000) });
      const first = await send(gw!, { key: 'c', body: big, chunked: true });
      assert.equal(first.status, 201);
      assert.equal(first.json().received, big);
      const again = await sendOnceStored(gw!, { key: 'c', body: big });
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal((await send(gw!, { key: 'c', body: `${big} `, chunked: true })).status, 422);
      assert.equal(pay.executions(), 1);
    });

    test('a body over maxBodyBytes is 413 idempotency_body_too_large, declared or chunked', async (t) => {
      const pay = await startPayments(t);
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url, { policy: { maxBodyBytes: 1000 } });
      for (const chunked of [false, true]) {
        const r = await send(gw!, { key: `big-${chunked}`, body: 'x'.repeat(5000), chunked });
        assert.equal(r.status, 413);
        assert.equal(r.json().code, 'idempotency_body_too_large');
      }
      assert.equal((await send(gw!, { key: 'small', body: 'x'.repeat(1000) })).status, 201);
      assert.equal(pay.executions(), 1);
    });

    test('anonymous keys are scoped by client IP, or shared with anonymousScope none', async (t) => {
      const pay = await startPayments(t);
      const trusted = { forwarding: { trustedProxies: ['127.0.0.1'] } };
      const [byIp] = await startIdempotentGateways(t, backend, pay.up.url, { config: trusted });
      const from = (ip: string) => ({ key: 'same', body: BODY, headers: { 'x-forwarded-for': ip } });
      assert.equal((await send(byIp!, from('203.0.113.1'))).headers['idempotent-replayed'], undefined);
      assert.equal((await send(byIp!, from('203.0.113.2'))).headers['idempotent-replayed'], undefined);
      assert.equal((await sendOnceStored(byIp!, from('203.0.113.1'))).headers['idempotent-replayed'], 'true');
      const [shared] = await startIdempotentGateways(t, backend, pay.up.url, {
        config: trusted,
        policy: { anonymousScope: 'none' },
      });
      assert.equal((await send(shared!, from('203.0.113.1'))).headers['idempotent-replayed'], undefined);
      assert.equal(
        (await sendOnceStored(shared!, from('203.0.113.2'))).headers['idempotent-replayed'],
        'true',
      );
      assert.equal(pay.executions(), 3);
    });

    test('results are counted in junction_idempotency_requests_total', async (t) => {
      const pay = await startPayments(t);
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url);
      await send(gw!, { key: 'm', body: BODY });
      await sendOnceStored(gw!, { key: 'm', body: BODY });
      await send(gw!, { key: 'm', body: '{}' });
      const lines = await idempotencyMetrics(gw!);
      assert.ok(
        lines.includes('junction_idempotency_requests_total{route="payments",result="new"} 1'),
        lines.join('\n'),
      );
      assert.ok(lines.includes('junction_idempotency_requests_total{route="payments",result="replayed"} 1'));
      assert.ok(lines.includes('junction_idempotency_requests_total{route="payments",result="mismatch"} 1'));
    });
  });
}
