import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IdempotencyRef, StoredResponse } from './idempotency.ts';
import { targets } from './testing.ts';

const ref: IdempotencyRef = { scope: 'p:alice', route: 'payments', key: 'k-1' };
const opts = (now: number) => ({ now, leaseMs: 60_000, ttlMs: 86_400_000 });
const response: StoredResponse = {
  status: 201,
  headers: { 'content-type': 'application/json', link: ['<a>; rel="x"', '<b>; rel="y"'] },
  body: Buffer.from([0x7b, 0x00, 0xff, 0x7d]),
};

for (const target of targets) {
  describe(`idempotency keys on ${target.dialect}`, () => {
    test('the first request takes the lease; later ones see it in use, then replay the stored response', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.idempotency;
      const first = await repo.begin(ref, 'fp', opts(1000));
      assert.equal(first.outcome, 'acquired');
      assert.deepEqual(await repo.begin(ref, 'fp', opts(1500)), { outcome: 'in-use', lockedUntil: 61_000 });
      assert.equal(
        first.outcome === 'acquired' && (await repo.complete(ref, first.token, response, opts(2000))),
        true,
      );
      const again = await repo.begin(ref, 'fp', opts(3000));
      assert.deepEqual(again, { outcome: 'completed', response, completedAt: 2000 });
    });

    test('the same key with another fingerprint is a mismatch, locked or completed', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.idempotency;
      const first = await repo.begin(ref, 'fp', opts(1000));
      assert.deepEqual(await repo.begin(ref, 'other', opts(1001)), { outcome: 'mismatch' });
      assert.ok(
        first.outcome === 'acquired' && (await repo.complete(ref, first.token, response, opts(1002))),
      );
      assert.deepEqual(await repo.begin(ref, 'other', opts(1003)), { outcome: 'mismatch' });
    });

    test('scope and route separate keys', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.idempotency;
      assert.equal((await repo.begin(ref, 'fp', opts(1))).outcome, 'acquired');
      assert.equal((await repo.begin({ ...ref, scope: 'p:bob' }, 'fp', opts(1))).outcome, 'acquired');
      assert.equal((await repo.begin({ ...ref, route: 'refunds' }, 'other', opts(1))).outcome, 'acquired');
    });

    test('a released lease frees the key; only the holder can release or complete', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.idempotency;
      const first = await repo.begin(ref, 'fp', opts(1000));
      assert.ok(first.outcome === 'acquired');
      assert.equal(await repo.release(ref, 'not-the-token'), false);
      assert.equal(await repo.complete(ref, 'not-the-token', response, opts(1001)), false);
      assert.equal(await repo.release(ref, first.token), true);
      // Released: a new payload may use the key, as if it had never been seen.
      assert.equal((await repo.begin(ref, 'other', opts(1002))).outcome, 'acquired');
    });

    test('a lease past leaseMs is taken over (crashed holder); the old holder can no longer complete', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.idempotency;
      const crashed = await repo.begin(ref, 'fp', { now: 1000, leaseMs: 100, ttlMs: 10_000 });
      assert.ok(crashed.outcome === 'acquired');
      assert.equal(
        (await repo.begin(ref, 'fp', { now: 1099, leaseMs: 100, ttlMs: 10_000 })).outcome,
        'in-use',
      );
      // After the lease, another payload is still refused: the key stays bound to its first request.
      assert.deepEqual(await repo.begin(ref, 'other', { now: 1100, leaseMs: 100, ttlMs: 10_000 }), {
        outcome: 'mismatch',
      });
      const retry = await repo.begin(ref, 'fp', { now: 1100, leaseMs: 100, ttlMs: 10_000 });
      assert.equal(retry.outcome, 'acquired');
      assert.equal(await repo.complete(ref, crashed.token, response, opts(1101)), false);
      assert.ok(
        retry.outcome === 'acquired' && (await repo.complete(ref, retry.token, response, opts(1102))),
      );
    });

    test('after retention the key is new again, and the sweep deletes expired rows in batches', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.idempotency;
      const ttl = { leaseMs: 10, ttlMs: 1000 };
      for (let i = 0; i < 5; i++) {
        const b = await repo.begin({ ...ref, key: `k${i}` }, 'fp', { now: 100 + i, ...ttl });
        assert.ok(b.outcome === 'acquired');
        await repo.complete({ ...ref, key: `k${i}` }, b.token, response, { now: 100 + i, ttlMs: 1000 });
      }
      const live = await repo.begin({ ...ref, key: 'live' }, 'fp', { now: 2500, ...ttl });
      assert.equal(live.outcome, 'acquired');
      // k0 expired at 1100 but was not swept yet: a new payload takes it as a fresh key.
      assert.equal(
        (await repo.begin({ ...ref, key: 'k0' }, 'other', { now: 1100, ...ttl })).outcome,
        'acquired',
      );
      assert.equal(await repo.sweep(3000, 2), 2);
      assert.equal(await repo.sweep(3000, 2), 2);
      assert.equal(await repo.sweep(3000, 2), 1);
      assert.equal(await repo.sweep(3000, 2), 0);
      const left = await store.db.selectFrom('idempotency_keys').select('idempotency_key').execute();
      assert.deepEqual(
        left.map((r) => r.idempotency_key),
        ['live'],
      );
    });

    test('concurrent begins for one key: exactly one acquires', async (t) => {
      const site = await target.setup(t);
      const store = await site.openMigrated();
      // PostgreSQL: several pools, as several gateway nodes would have.
      const others =
        target.dialect === 'postgres'
          ? await Promise.all([1, 2, 3].map(() => site.open({ poolMax: 5 })))
          : [];
      const repos = [store, ...others].map((s) => s.idempotency);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => repos[i % repos.length]!.begin(ref, 'fp', opts(Date.now()))),
      );
      assert.equal(results.filter((r) => r.outcome === 'acquired').length, 1);
      assert.equal(results.filter((r) => r.outcome === 'in-use').length, 39);
    });

    test('an empty body and a status without headers are stored as such', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.idempotency;
      const b = await repo.begin(ref, 'fp', opts(1));
      const empty: StoredResponse = { status: 204, headers: {}, body: Buffer.alloc(0) };
      assert.ok(b.outcome === 'acquired' && (await repo.complete(ref, b.token, empty, opts(2))));
      assert.deepEqual(await repo.begin(ref, 'fp', opts(3)), {
        outcome: 'completed',
        response: empty,
        completedAt: 2,
      });
    });

    test('an injection payload as a key is stored and matched literally (Q27)', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.idempotency;
      const payload = { ...ref, key: "x' OR '1'='1" };
      assert.equal((await repo.begin(ref, 'fp', opts(1))).outcome, 'acquired');
      assert.equal((await repo.begin(payload, 'fp', opts(1))).outcome, 'acquired');
    });
  });
}
