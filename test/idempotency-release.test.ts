/**
 * When `core.idempotency` lets a key go and when it keeps it (docs/idempotency.md, "What is stored"):
 * a request that never reached the upstream, or that the upstream did not process, frees its key;
 * one the upstream may have executed keeps it locked until the lease lapses (the crash case).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SqlIdempotencyStore } from '../src/ingress/policies/idempotency/index.ts';
import type { TestGateway } from './helpers/gateway.ts';
import { BACKENDS, send, startIdempotentGateways, startPayments } from './helpers/idempotency.ts';
import { REFUSED_ORIGIN } from './helpers/upstream.ts';

const BODY = JSON.stringify({ amount: 700, currency: 'GBP' });

/** Retries until the answer is no longer 409: a lease released after the response lands soon after. */
async function untilFree(gw: TestGateway, key: string) {
  for (let i = 0; ; i++) {
    const r = await send(gw, { key, body: BODY });
    if (r.status !== 409 || i === 50) return r;
    await sleep(20);
  }
}

for (const backend of BACKENDS) {
  describe(`core.idempotency releases and keeps keys on ${backend}`, () => {
    test('an upstream 503 or 429 is not stored; a 500 is stored and replayed (Stripe)', async (t) => {
      const statuses = [503, 429, 201, 500];
      const pay = await startPayments(t, { status: (n) => statuses[n - 1] ?? 201 });
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url);
      assert.equal((await send(gw!, { key: 'a', body: BODY })).status, 503);
      assert.equal((await send(gw!, { key: 'a', body: BODY })).status, 429);
      assert.equal((await send(gw!, { key: 'a', body: BODY })).status, 201);
      // The response is stored as it finishes streaming: a retry right after may still find it in flight.
      assert.equal((await untilFree(gw!, 'a')).headers['idempotent-replayed'], 'true');
      assert.equal((await send(gw!, { key: 'b', body: BODY })).status, 500);
      const replay = await untilFree(gw!, 'b');
      assert.equal(replay.status, 500);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(pay.executions(), 4);
    });

    test('no response at all (upstream unreachable) releases the key so the client may retry', async (t) => {
      const [gw] = await startIdempotentGateways(t, backend, REFUSED_ORIGIN);
      for (let i = 0; i < 2; i++) {
        const r = await send(gw!, { key: 'down', body: BODY });
        assert.equal(r.status, 502);
        assert.equal(r.json().code, 'upstream_unreachable');
        assert.equal(r.headers['idempotent-replayed'], undefined);
      }
    });

    test('a request a later policy refuses never reached the upstream: its key is released', async (t) => {
      const pay = await startPayments(t);
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url, {
        after: { 'core.fault': { abort: { status: 400 }, when: {} } },
      });
      const refused = await send(gw!, { key: 'v', body: BODY, headers: { 'x-junction-fault': 'abort' } });
      assert.equal(refused.status, 400);
      assert.equal(refused.json().code, 'fault_injected');
      const retry = await untilFree(gw!, 'v');
      assert.equal(retry.status, 201);
      assert.equal(retry.headers['idempotent-replayed'], undefined);
      assert.equal(pay.executions(), 1);
    });

    test('a response over maxResponseBytes is relayed whole but not stored', async (t) => {
      const pay = await startPayments(t, { bodyBytes: 5000 });
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url, {
        policy: { maxResponseBytes: 1000 },
      });
      for (let i = 1; i <= 2; i++) {
        const r = await send(gw!, { key: 'big', body: BODY });
        assert.equal(r.status, 201);
        assert.equal(r.json().execution, i);
        assert.equal(r.headers['idempotent-replayed'], undefined);
      }
    });

    test('a client that leaves while the upstream executes keeps the key locked until the lease lapses', async (t) => {
      const pay = await startPayments(t, { delayMs: 300 });
      // A 1.5 s lease: the look at 350 ms must fall inside it also on a loaded machine (with 800 ms,
      // the abort, the pause and the request left too little room).
      const [gw] = await startIdempotentGateways(t, backend, pay.up.url, { policy: { leaseMs: 1_500 } });
      const leaving = new AbortController();
      const call = fetch(gw!.url('/payments'), {
        method: 'POST',
        headers: { 'idempotency-key': 'gone', 'content-type': 'application/json' },
        body: BODY,
        signal: leaving.signal,
      });
      while (pay.executions() === 0) await sleep(5);
      leaving.abort(); // the upstream has the request and is executing it
      await assert.rejects(call);
      await sleep(350);
      const during = await send(gw!, { key: 'gone', body: BODY });
      assert.equal(during.status, 409, 'the upstream may have charged: no second execution yet');
      await sleep(1_300);
      const after = await send(gw!, { key: 'gone', body: BODY });
      assert.equal(after.status, 201, 'after the lease a retry goes through, and executes again');
      assert.equal(pay.executions(), 2);
    });

    if (backend !== 'redis') {
      test('a crash between the upstream answer and storing it: locked for leaseMs, then re-executed', async (t) => {
        const pay = await startPayments(t);
        // The node "dies" after the upstream answered: the store write never happens.
        const crashing = (s: SqlIdempotencyStore): SqlIdempotencyStore => ({
          begin: (...a) => s.begin(...a),
          release: (...a) => s.release(...a),
          sweep: (...a) => s.sweep(...a),
          complete: async () => {
            throw new Error('node crashed');
          },
        });
        // A 1.5 s lease: the first request and the locked retry must both fall inside it, also on a
        // loaded machine (500 ms left a stall room to let the lease lapse before the retry).
        const [gw] = await startIdempotentGateways(t, backend, pay.up.url, {
          policy: { leaseMs: 1_500 },
          wrap: crashing,
        });
        assert.equal((await send(gw!, { key: 'crash', body: BODY })).status, 201);
        const locked = await send(gw!, { key: 'crash', body: BODY });
        assert.equal(locked.status, 409);
        assert.equal(locked.json().code, 'idempotency_key_in_use');
        await sleep(1_550);
        assert.equal((await send(gw!, { key: 'crash', body: BODY })).status, 201);
        assert.equal(pay.executions(), 2, 'the retry after the lease re-executes');
        // Which is why the key goes upstream unchanged: the service can recognise the retry itself.
        assert.deepEqual(pay.keys, ['crash', 'crash']);
      });

      test("the route's own body limit refuses before the upstream: the key is released", async (t) => {
        const pay = await startPayments(t);
        const [gw] = await startIdempotentGateways(t, backend, pay.up.url, {
          config: { limits: { maxBodyBytes: 100 } },
        });
        const body = JSON.stringify({ amount: 1, note: 'n'.repeat(200) });
        const r = await send(gw!, { key: 'limit', body });
        assert.equal(r.status, 413);
        assert.equal(r.json().code, 'payload_too_large');
        const retry = await untilFree(gw!, 'limit');
        assert.equal(retry.status, 201, 'a retry within the limit goes through');
        assert.equal(pay.executions(), 1);
      });
    }
  });
}
