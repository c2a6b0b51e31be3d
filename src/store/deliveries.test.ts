import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { isJunctionError } from '../core/errors.ts';
import { JUNCTION_EPOCH, Snowflake } from '../core/ids.ts';
import { type Delivery, MAX_SPREAD_MS } from './deliveries.ts';
import type { Store } from './open.ts';
import { targets } from './testing.ts';

const T0 = JUNCTION_EPOCH + 10_000_000;
const LEASE = 30_000;
const hasCode = (code: string) => (err: unknown) => isJunctionError(err) && err.code === code;

/**
 * Appends `count` events, one per `stepMs` from `start`, each with a delivery per subscription.
 * Returns the deliveries in id order (= event order, then subscription order within an event).
 */
async function seed(
  store: Store,
  count: number,
  subscriptions: readonly string[] = ['orders'],
  start = T0,
  stepMs = 1000,
): Promise<Delivery[]> {
  let now = start;
  const ids = new Snowflake({ nodeId: 5, now: () => now });
  const out: Delivery[] = [];
  for (let i = 0; i < count; i++) {
    now = start + i * stepMs;
    const r = await store.events.append(
      { source: 's', type: 't', externalId: `x${i}`, payload: `${i}` },
      subscriptions,
      ids,
    );
    assert.ok(!r.duplicate);
    out.push(...r.deliveries);
  }
  return out;
}

const ids = (items: readonly Delivery[]) => items.map((d) => d.id);

/** Starts one claimer thread per owner, lets them go at once, and returns what each completed. */
async function workInThreads(url: string, owners: readonly string[], batch: number): Promise<string[][]> {
  const workers = owners.map(
    (owner) =>
      new Worker(new URL('./testing-delivery-worker.ts', import.meta.url), {
        workerData: { url, owner, batch },
      }),
  );
  const answer = (worker: Worker, expect: (m: unknown) => boolean) =>
    new Promise<unknown>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (!expect(m)) return;
        worker.off('message', onMessage);
        resolve(m);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new Error(`delivery worker exited with ${code} before answering`)),
      );
    });
  await Promise.all(workers.map((w) => answer(w, (m) => m === 'ready')));
  const results = workers.map((w) => answer(w, Array.isArray));
  for (const w of workers) w.postMessage('go');
  return (await Promise.all(results)) as string[][];
}

/** Drains the queue with `concurrency` claimers per store; every claimed id is completed. */
async function drain(stores: readonly Store[], batch: number): Promise<Map<string, string[]>> {
  const claims = new Map<string, string[]>();
  await Promise.all(
    stores.map(async (store, w) => {
      const owner = `worker-${w}`;
      for (;;) {
        const claimed = await store.deliveries.claim(owner, batch, LEASE);
        if (claimed.length === 0) return;
        for (const d of claimed) {
          claims.set(d.id, [...(claims.get(d.id) ?? []), owner]);
          assert.equal(await store.deliveries.complete(d.id, owner), true, `${owner} completes ${d.id}`);
        }
      }
    }),
  );
  return claims;
}

for (const target of targets) {
  describe(`delivery queue on ${target.dialect}`, () => {
    test('a claim leases due deliveries oldest first up to the limit, and counts the attempt', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const queued = await seed(store, 5);
      const now = T0 + 2500;
      const first = await store.deliveries.claim('w1', 2, LEASE, now);
      assert.deepEqual(ids(first), ids(queued.slice(0, 2)));
      for (const d of first) {
        assert.deepEqual([d.status, d.attempts, d.leaseOwner], ['leased', 1, 'w1']);
        assert.equal(d.leaseExpiresAt, now + LEASE);
        assert.equal(d.nextAttemptAt, now + LEASE, 'a leased row is due again when its lease expires');
      }
      // Only the third event is due at T0 + 2500; the other two are in the future.
      assert.deepEqual(ids(await store.deliveries.claim('w2', 10, LEASE, now)), ids(queued.slice(2, 3)));
      assert.deepEqual(await store.deliveries.claim('w2', 10, LEASE, now), []);
      assert.deepEqual(ids(await store.deliveries.claim('w2', 10, LEASE, T0 + 10_000)), ids(queued.slice(3)));
    });

    test('an expired lease is claimed by another owner; the old owner can no longer write', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const [d] = await seed(store, 1);
      const [mine] = await store.deliveries.claim('old', 1, 1000, T0);
      assert.equal(mine?.id, d!.id);
      assert.deepEqual(await store.deliveries.claim('new', 1, 1000, T0 + 999), [], 'held until it expires');
      const [taken] = await store.deliveries.claim('new', 1, 1000, T0 + 1000);
      assert.deepEqual([taken?.id, taken?.leaseOwner, taken?.attempts], [d!.id, 'new', 2]);

      assert.equal(await store.deliveries.complete(d!.id, 'old', T0 + 1001), false);
      assert.equal(await store.deliveries.retry(d!.id, 'old', T0 + 5000, 'late', 500, T0 + 1001), false);
      assert.equal(await store.deliveries.deadLetter(d!.id, 'old', 'late', 500, T0 + 1001), false);
      assert.equal(await store.deliveries.extend(d!.id, 'old', 1000, T0 + 1001), false);
      assert.deepEqual((await store.deliveries.get(d!.id))?.leaseOwner, 'new', 'nothing was overwritten');
      assert.equal(await store.deliveries.complete(d!.id, 'new', T0 + 1002), true);
      const done = await store.deliveries.get(d!.id);
      assert.deepEqual(
        [done?.status, done?.attempts, done?.nextAttemptAt, done?.leaseOwner, done?.leaseExpiresAt],
        ['done', 2, null, null, null],
      );
      assert.equal(await store.deliveries.complete(d!.id, 'new', T0 + 1003), false, 'done is final');
      assert.deepEqual(await store.deliveries.claim('any', 10, 1000, T0 + 1_000_000), []);
    });

    test('a lease that expired but was not taken is still its owner’s; extend keeps it', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const [d] = await seed(store, 1);
      await store.deliveries.claim('w', 1, 1000, T0);
      assert.equal(await store.deliveries.extend(d!.id, 'w', 5000, T0 + 900), true);
      assert.deepEqual(
        await store.deliveries.claim('other', 1, 1000, T0 + 5000),
        [],
        'extended to T0 + 5900',
      );
      assert.equal(await store.deliveries.complete(d!.id, 'w', T0 + 10_000), true);
    });

    test('retry schedules the next attempt and records the failure; attempts count claims', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const [d] = await seed(store, 1);
      await store.deliveries.claim('w', 1, LEASE, T0);
      assert.equal(await store.deliveries.retry(d!.id, 'w', T0 + 5000, 'HTTP 503', 503, T0 + 10), true);
      const waiting = await store.deliveries.get(d!.id);
      assert.deepEqual(
        [waiting?.status, waiting?.attempts, waiting?.nextAttemptAt, waiting?.leaseOwner, waiting?.lastError],
        ['pending', 1, T0 + 5000, null, 'HTTP 503'],
      );
      assert.equal(waiting?.lastStatus, 503);
      assert.deepEqual(await store.deliveries.claim('w', 1, LEASE, T0 + 4999), []);
      const [second] = await store.deliveries.claim('w', 1, LEASE, T0 + 5000);
      assert.equal(second?.attempts, 2);
      // No response at all: status null; a huge error body is cut.
      assert.ok(await store.deliveries.retry(d!.id, 'w', T0 + 9000, 'x'.repeat(10_000), null, T0 + 5001));
      const third = (await store.deliveries.claim('w', 1, LEASE, T0 + 9000))[0];
      assert.deepEqual([third?.attempts, third?.lastStatus, third?.lastError?.length], [3, null, 2000]);
      await assert.rejects(
        store.deliveries.retry(d!.id, 'w', T0 + 1.5, 'x', null),
        hasCode('store_record_invalid'),
      );
      await assert.rejects(store.deliveries.retry(d!.id, 'w', T0, 'x', 42), hasCode('store_record_invalid'));
    });

    test('dead letters: listed by subscription and time in pages, replayed one or many, discarded', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      // 12 events a minute apart, each for two subscriptions: 24 deliveries.
      const all = await seed(store, 12, ['crm', 'erp'], T0, 60_000);
      const now = T0 + 3_600_000;
      const claimed = await store.deliveries.claim('w', 100, LEASE, now);
      assert.equal(claimed.length, 24);
      // Kill all but the last event's two; those complete.
      for (const d of claimed.slice(0, 22))
        assert.ok(await store.deliveries.deadLetter(d.id, 'w', 'gone', 410, now));
      for (const d of claimed.slice(22)) assert.ok(await store.deliveries.complete(d.id, 'w', now));
      const dead = all.slice(0, 22);
      const newestFirst = [...dead].reverse();

      const pages: Delivery[][] = [];
      let after: string | undefined;
      do {
        const page = await store.deliveries.listDead({ limit: 10, after });
        pages.push(page.items);
        after = page.next;
      } while (after !== undefined);
      assert.deepEqual(
        pages.map((p) => p.length),
        [10, 10, 2],
      );
      assert.deepEqual(ids(pages.flat()), ids(newestFirst));
      assert.ok(
        pages.flat().every((d) => d.status === 'dead' && d.lastStatus === 410 && d.lastError === 'gone'),
      );

      const crm = await store.deliveries.listDead({ limit: 100, subscription: 'crm' });
      assert.deepEqual(ids(crm.items), ids(newestFirst.filter((d) => d.subscription === 'crm')));
      // Events 2..4 (from inclusive, to exclusive), ERP only, two per page.
      const window = { subscription: 'erp', from: T0 + 120_000, to: T0 + 300_000 };
      const p1 = await store.deliveries.listDead({ limit: 2, ...window });
      const p2 = await store.deliveries.listDead({ limit: 2, ...window, after: p1.next });
      assert.equal(p2.next, undefined);
      const erpWindow = dead.filter((d, i) => d.subscription === 'erp' && i >= 4 && i < 10).reverse();
      assert.deepEqual(ids([...p1.items, ...p2.items]), ids(erpWindow));

      // Replay one: pending now, attempts from zero, claimable again.
      const target1 = newestFirst[0]!;
      assert.equal(await store.deliveries.replay(target1.id, now + 1), true);
      assert.equal(await store.deliveries.replay(target1.id, now + 1), false, 'no longer dead');
      const replayed = await store.deliveries.get(target1.id);
      assert.deepEqual(
        [replayed?.status, replayed?.attempts, replayed?.nextAttemptAt],
        ['pending', 0, now + 1],
      );
      assert.deepEqual(ids(await store.deliveries.claim('w', 10, LEASE, now + 1)), [target1.id]);

      // Replay many by filter; a done delivery is never touched.
      assert.equal(await store.deliveries.replayMany(window, now + 2), erpWindow.length);
      assert.equal(await store.deliveries.replayMany(window, now + 2), 0);
      assert.equal(await store.deliveries.replay(all[23]!.id, now + 2), false, 'done is not dead');
      const pending = await store.deliveries.list('pending', { limit: 100 });
      assert.deepEqual(ids(pending.items), ids(erpWindow));

      // Discard one, then all CRM dead letters before event 6.
      const remaining = await store.deliveries.listDead({ limit: 100 });
      assert.equal(remaining.items.length, 22 - 1 - erpWindow.length);
      assert.equal(await store.deliveries.discard(remaining.items[0]!.id), true);
      assert.equal(await store.deliveries.discard(remaining.items[0]!.id), false);
      assert.equal(await store.deliveries.discard(target1.id), false, 'a leased delivery is not discarded');
      assert.equal(await store.deliveries.discardMany({ subscription: 'crm', to: T0 + 360_000 }), 6);
      assert.equal(
        (await store.deliveries.listDead({ limit: 100 })).items.length,
        remaining.items.length - 7,
      );
      await assert.rejects(store.deliveries.listDead({ limit: 1001 }), hasCode('store_page_limit_invalid'));
    });

    if (target.dialect === 'postgres') {
      test('4 workers on separate pools drain 200 deliveries, each completed exactly once', async (t) => {
        const site = await target.setup(t);
        const store = await site.openMigrated();
        const queued = await seed(store, 100, ['a', 'b'], Date.now() - 60_000, 1);
        const workers = await Promise.all([1, 2, 3, 4].map(() => site.open({ poolMax: 2 })));
        const claims = await drain(workers, 5);
        assert.equal(claims.size, 200);
        const twice = [...claims].filter(([, owners]) => owners.length > 1);
        assert.deepEqual(twice, [], 'no delivery claimed twice');
        assert.deepEqual([...claims.keys()].sort(), ids(queued).sort());
        assert.ok(new Set([...claims.values()].flat()).size > 1, 'the work was shared');
        assert.equal((await store.deliveries.list('done', { limit: 1000 })).items.length, 200);
      });
    } else {
      test('two stores on one file (two threads) drain 200 deliveries, each completed exactly once', async (t) => {
        const site = await target.setup(t);
        const store = await site.openMigrated();
        const queued = await seed(store, 100, ['a', 'b'], Date.now() - 60_000, 1);
        const [a, b] = await workInThreads(site.url, ['thread-a', 'thread-b'], 5);
        const done = [...a!, ...b!];
        assert.equal(done.length, 200);
        assert.equal(new Set(done).size, 200, 'no delivery claimed twice');
        assert.deepEqual(done.sort(), ids(queued).sort());
        assert.ok(a!.length > 0 && b!.length > 0, 'the work was shared');
        assert.equal((await store.deliveries.list('done', { limit: 1000 })).items.length, 200);
      });
    }

    test('postpone gives a claim back without counting the attempt or touching the last error', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const [d] = await seed(store, 1);
      await store.deliveries.claim('w', 1, LEASE, T0);
      await store.deliveries.retry(d!.id, 'w', T0 + 10, 'HTTP 503', 503, T0 + 1);
      const [again] = await store.deliveries.claim('w', 1, LEASE, T0 + 10);
      assert.equal(again?.attempts, 2);
      assert.equal(
        await store.deliveries.postpone(d!.id, 'other', T0 + 500, T0 + 11),
        false,
        'not its lease',
      );
      assert.equal(await store.deliveries.postpone(d!.id, 'w', T0 + 500, T0 + 11), true);
      const back = await store.deliveries.get(d!.id);
      assert.deepEqual(
        [
          back?.status,
          back?.attempts,
          back?.nextAttemptAt,
          back?.leaseOwner,
          back?.lastError,
          back?.lastStatus,
        ],
        ['pending', 1, T0 + 500, null, 'HTTP 503', 503],
      );
    });

    test("postponeDue with a spacing spreads a subscription's due backlog over the time it needs", async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      await seed(store, 200, ['ep:a', 'ep:b'], T0, 1);
      const now = T0 + 1000;
      const base = T0 + 5000;
      assert.equal(await store.deliveries.postponeDue('ep:a', base, now, 50), 200);
      const rows = (await store.deliveries.list('pending', { limit: 1000 })).items;
      const at = (sub: string) => rows.filter((d) => d.subscription === sub).map((d) => d.nextAttemptAt!);
      const a = at('ep:a');
      assert.equal(a.length, 200);
      // 200 rows × 50 ms: uniform over [base, base + 10 s). A bunch at one time would fail both bounds
      // (each bound alone fails by chance with probability 0.75^200).
      assert.ok(
        a.every((x) => x >= base && x < base + 10_000),
        'inside the span',
      );
      assert.ok(Math.min(...a) < base + 2500 && Math.max(...a) >= base + 7500, 'spread across it');
      assert.ok(new Set(a).size > 100, 'not a few bunches');
      assert.ok(
        at('ep:b').every((x) => x <= now),
        'another subscription is left alone',
      );
      // Rows due later than `now` (the ones just pushed) are not pushed again.
      assert.equal(await store.deliveries.postponeDue('ep:a', base, now, 50), 0);
      // 200 rows × 1 s would span 200 s: capped at MAX_SPREAD_MS.
      assert.equal(await store.deliveries.postponeDue('ep:b', base, now, 1000), 200);
      const b = (await store.deliveries.list('pending', { limit: 1000 })).items
        .filter((d) => d.subscription === 'ep:b')
        .map((d) => d.nextAttemptAt!);
      assert.ok(
        b.every((x) => x >= base && x < base + MAX_SPREAD_MS),
        'inside the capped span',
      );
      assert.ok(Math.max(...b) >= base + MAX_SPREAD_MS / 2, 'spread across it');
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 60_001]) {
        await assert.rejects(
          store.deliveries.postponeDue('ep:a', base, now, bad),
          hasCode('store_record_invalid'),
        );
      }
    });

    test('bringForward makes the oldest never-attempted parked deliveries of one subscription due now', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const queued = await seed(store, 6, ['ep:a', 'ep:b'], T0, 1);
      const a = queued.filter((d) => d.subscription === 'ep:a');
      const now = T0 + 1000;
      // All parked 30 s ahead; the first one failed an attempt and waits for its retry instead.
      assert.equal(await store.deliveries.postponeDue('ep:a', now + 30_000, now), 6);
      assert.equal(await store.deliveries.postponeDue('ep:b', now + 30_000, now), 6);
      const [failed] = await store.deliveries.claim('w', 1, LEASE, now + 30_000);
      assert.equal(failed?.id, a[0]!.id);
      await store.deliveries.retry(failed!.id, 'w', now + 60_000, 'HTTP 503', 503, now + 30_000);

      assert.equal(await store.deliveries.bringForward('ep:a', 2, now), 2);
      const due = async () =>
        (await store.deliveries.list('pending', { limit: 100 })).items
          .filter((d) => d.nextAttemptAt! <= now)
          .map((d) => d.id)
          .sort();
      assert.deepEqual(await due(), [a[1]!.id, a[2]!.id].sort(), 'the oldest two, never the retrying one');
      assert.equal(await store.deliveries.bringForward('ep:a', 10, now), 3);
      assert.deepEqual(
        await due(),
        a.slice(1).map((d) => d.id),
      );
      assert.equal((await store.deliveries.get(a[0]!.id))?.nextAttemptAt, now + 60_000);
      assert.equal(await store.deliveries.bringForward('ep:a', 10, now), 0, 'nothing parked is left');
      assert.equal(await store.deliveries.bringForward('ep:c', 10, now), 0);
      await assert.rejects(
        store.deliveries.bringForward('ep:a', 0, now),
        hasCode('store_page_limit_invalid'),
      );
    });

    test('count stops at its cap; replayMany with ids replays only those dead letters', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const queued = await seed(store, 5);
      for (const d of await store.deliveries.claim('w', 5, LEASE, T0 + 10_000)) {
        await store.deliveries.deadLetter(d.id, 'w', 'HTTP 400', 400, T0 + 10_001);
      }
      assert.equal(await store.deliveries.count('dead', 100), 5);
      assert.equal(await store.deliveries.count('dead', 3), 3);
      assert.equal(await store.deliveries.count('pending', 100), 0);
      assert.equal(await store.deliveries.replayMany({ ids: [queued[1]!.id, queued[3]!.id, 'dlv_nope'] }), 2);
      assert.equal(await store.deliveries.replayMany({ ids: [] }), 0);
      assert.equal(await store.deliveries.count('pending', 100), 2);
      assert.equal(await store.deliveries.count('dead', 100), 3);
    });

    test('bad claim arguments are refused', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      await assert.rejects(store.deliveries.claim('', 1, 1000), hasCode('store_record_invalid'));
      await assert.rejects(store.deliveries.claim('w', 0, 1000), hasCode('store_page_limit_invalid'));
      await assert.rejects(store.deliveries.claim('w', 1, 0), hasCode('store_record_invalid'));
      await assert.rejects(store.deliveries.extend('d', 'w', -1), hasCode('store_record_invalid'));
    });

    test('the table refuses a leased row without an owner or a finished row still due', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const [d] = await seed(store, 1);
      await assert.rejects(
        store.db.updateTable('deliveries').set({ status: 'leased' }).where('id', '=', d!.id).execute(),
      );
      await assert.rejects(
        store.db.updateTable('deliveries').set({ status: 'done' }).where('id', '=', d!.id).execute(),
      );
    });
  });
}
