/** The Redis store keeps the SQL store's semantics (src/store/idempotency.test.ts). Needs 127.0.0.1:6379. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import type { IdempotencyRef, StoredResponse } from './store.ts';
import { RedisIdempotencyStore } from './store-redis.ts';

const ref: IdempotencyRef = { scope: 'p:alice', route: 'payments', key: 'k-1' };
const opts = (now: number) => ({ now, leaseMs: 60_000, ttlMs: 60_000 });
const response: StoredResponse = {
  status: 201,
  headers: { 'content-type': 'application/json', link: ['<a>', '<b>'] },
  body: Buffer.from([0x7b, 0x00, 0xff, 0x7d]),
};

function open(t: TestContext, keyPrefix = `junction-test:idem-store:${randomBytes(6).toString('hex')}:`) {
  const store = new RedisIdempotencyStore({ url: 'redis://127.0.0.1:6379', keyPrefix, timeoutMs: 2000 });
  t.after(async () => {
    const keys = await store.client.keys(`${keyPrefix}*`);
    if (keys.length > 0) await store.client.del(...keys);
    await store.close();
  });
  return store;
}

test('lease, in use, complete, replay byte for byte; another fingerprint is a mismatch', async (t) => {
  const store = open(t);
  const first = await store.begin(ref, 'fp', opts(1000));
  assert.equal(first.outcome, 'acquired');
  assert.deepEqual(await store.begin(ref, 'fp', opts(1500)), { outcome: 'in-use', lockedUntil: 61_000 });
  assert.deepEqual(await store.begin(ref, 'other', opts(1500)), { outcome: 'mismatch' });
  assert.ok(first.outcome === 'acquired' && (await store.complete(ref, first.token, response, opts(2000))));
  assert.deepEqual(await store.begin(ref, 'fp', opts(3000)), {
    outcome: 'completed',
    response,
    completedAt: 2000,
  });
  assert.deepEqual(await store.begin(ref, 'other', opts(3000)), { outcome: 'mismatch' });
});

test('only the holder releases or completes; a lapsed lease is taken over', async (t) => {
  const store = open(t);
  const crashed = await store.begin(ref, 'fp', { now: 1000, leaseMs: 100, ttlMs: 60_000 });
  assert.ok(crashed.outcome === 'acquired');
  assert.equal(await store.release(ref, 'nope'), false);
  assert.equal((await store.begin(ref, 'fp', { now: 1099, leaseMs: 100, ttlMs: 60_000 })).outcome, 'in-use');
  const retry = await store.begin(ref, 'fp', { now: 1100, leaseMs: 100, ttlMs: 60_000 });
  assert.equal(retry.outcome, 'acquired');
  assert.equal(await store.complete(ref, crashed.token, response, opts(1101)), false);
  assert.ok(retry.outcome === 'acquired' && (await store.release(ref, retry.token)));
  assert.equal((await store.begin(ref, 'other', opts(1200))).outcome, 'acquired', 'released: the key is new');
});

test('retention is the key TTL: after ttlMs the key is gone', async (t) => {
  // A TTL of 1 s: the three calls before the wait must all land inside it, also on a loaded machine
  // (with 150 ms, a stall between them let the key expire early and the mismatch check saw a new key).
  const ttlMs = 1_000;
  const store = open(t);
  const b = await store.begin(ref, 'fp', { now: Date.now(), leaseMs: 100, ttlMs });
  assert.ok(b.outcome === 'acquired');
  assert.ok(await store.complete(ref, b.token, response, { now: Date.now(), ttlMs }));
  assert.equal((await store.begin(ref, 'other', opts(Date.now()))).outcome, 'mismatch');
  await new Promise((r) => setTimeout(r, ttlMs + 100));
  assert.equal((await store.begin(ref, 'other', opts(Date.now()))).outcome, 'acquired');
});

test('concurrent begins for one key from several clients: exactly one acquires', async (t) => {
  const prefix = `junction-test:idem-store:${randomBytes(6).toString('hex')}:`;
  const clients = [open(t, prefix), open(t, prefix), open(t, prefix)];
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) => clients[i % 3]!.begin(ref, 'fp', opts(Date.now()))),
  );
  assert.equal(results.filter((r) => r.outcome === 'acquired').length, 1);
  assert.equal(results.filter((r) => r.outcome === 'in-use').length, 59);
});
