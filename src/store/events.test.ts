import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { JUNCTION_EPOCH, Snowflake } from '../core/ids.ts';
import type { IdIssuer, NewEvent, StoredEvent } from './events.ts';
import type { Store } from './open.ts';
import { targets } from './testing.ts';

const T0 = JUNCTION_EPOCH + 10_000_000;
const hasCode = (code: string) => (err: unknown) => isJunctionError(err) && err.code === code;

/** A generator on a clock the test moves. */
function clock(start = T0): { now: number; ids: Snowflake } {
  const c: { now: number; ids: Snowflake } = { now: start, ids: new Snowflake({ nodeId: 0 }) };
  c.ids = new Snowflake({ nodeId: 7, now: () => c.now });
  return c;
}

const stripe = (externalId: string | null, extra: Partial<NewEvent> = {}): NewEvent => ({
  source: 'stripe',
  type: 'payment_intent.succeeded',
  externalId,
  payload: `{"id":"${externalId}"}`,
  ...extra,
});

async function count(store: Store, table: 'events' | 'deliveries'): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

for (const target of targets) {
  describe(`event log on ${target.dialect}`, () => {
    test('an append stores the raw body and headers and queues one pending delivery per subscription', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const c = clock();
      const payload = Buffer.from([0x7b, 0x00, 0xff, 0x0a, 0x7d]);
      const headers = { 'stripe-signature': 't=1,v1=abc', 'content-type': 'application/json' };
      const r = await store.events.append(
        { source: 'stripe', type: 'charge.refunded', externalId: 'evt_1', payload, headers },
        ['orders', 'ledger', 'orders'],
        c.ids,
      );
      assert.equal(r.duplicate, false);
      assert.ok(!r.duplicate);
      assert.equal(r.event.receivedAt, T0, 'received_at is the time inside the id');
      assert.match(r.event.id, /^evt_/);
      const stored = await store.events.get(r.event.id);
      assert.deepEqual(stored, r.event);
      assert.deepEqual(stored?.payload, payload, 'bytes survive as received');
      assert.deepEqual(stored?.headers, headers);

      const deliveries = await store.deliveries.forEvent(r.event.id);
      assert.deepEqual(
        deliveries,
        [...r.deliveries].sort((a, b) => a.subscription.localeCompare(b.subscription)),
      );
      assert.deepEqual(
        deliveries.map((d) => [d.subscription, d.status, d.attempts, d.nextAttemptAt, d.leaseOwner]),
        [
          ['ledger', 'pending', 0, T0, null],
          ['orders', 'pending', 0, T0, null],
        ],
        'duplicate subscription names queue once',
      );
    });

    test('the same external id from the same source is a duplicate and writes nothing', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const c = clock();
      const first = await store.events.append(stripe('evt_1'), ['a', 'b'], c.ids);
      assert.ok(!first.duplicate);
      c.now += 1000;
      const again = await store.events.append(
        stripe('evt_1', { payload: 'other body' }),
        ['a', 'b', 'c'],
        c.ids,
      );
      assert.deepEqual(again, { duplicate: true, existingId: first.event.id });
      assert.equal(await count(store, 'events'), 1);
      assert.equal(await count(store, 'deliveries'), 2);
      assert.equal(await store.events.exists('stripe', 'evt_1'), true);
      assert.equal(await store.events.exists('stripe', 'evt_2'), false);
      assert.equal(await store.events.exists('github', 'evt_1'), false);

      // Another source may use the same id; events without one are never deduplicated.
      const github = await store.events.append({ ...stripe('evt_1'), source: 'github' }, ['a'], c.ids);
      assert.equal(github.duplicate, false);
      assert.equal((await store.events.append(stripe(null), ['a'], c.ids)).duplicate, false);
      assert.equal((await store.events.append(stripe(null), ['a'], c.ids)).duplicate, false);
      assert.equal(await count(store, 'events'), 4);
    });

    test('20 parallel appends of one external id store one event and one delivery set', async (t) => {
      const site = await target.setup(t);
      const store = await site.openMigrated();
      // PostgreSQL: several pools, as several gateway nodes receiving the provider's retries would have.
      const others =
        target.dialect === 'postgres'
          ? await Promise.all([1, 2, 3].map(() => site.open({ poolMax: 5 })))
          : [];
      const stores = [store, ...others];
      const ids = new Snowflake({ nodeId: 9 });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          stores[i % stores.length]!.events.append(stripe('evt_race'), ['orders', 'ledger', 'audit'], ids),
        ),
      );
      const winners = results.filter((r) => !r.duplicate);
      assert.equal(winners.length, 1);
      const winner = winners[0]!;
      assert.ok(!winner.duplicate);
      assert.ok(results.every((r) => !r.duplicate || r.existingId === winner.event.id));
      assert.equal(await count(store, 'events'), 1);
      assert.deepEqual(
        (await store.deliveries.forEvent(winner.event.id)).map((d) => d.subscription),
        ['audit', 'ledger', 'orders'],
      );
      assert.equal(await count(store, 'deliveries'), 3);
    });

    test('an append that fails while queueing deliveries leaves no event behind', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const c = clock();
      // Issues the same delivery id twice: the second delivery row violates the primary key.
      const dlv = c.ids.next('dlv');
      const broken: IdIssuer = { next: (prefix) => (prefix === 'dlv' ? dlv : c.ids.next(prefix)) };
      await assert.rejects(store.events.append(stripe('evt_1'), ['a', 'b'], broken));
      assert.equal(await count(store, 'events'), 0);
      assert.equal(await count(store, 'deliveries'), 0);
      assert.equal(await store.events.exists('stripe', 'evt_1'), false);
      // The provider's retry is then stored, not taken for a duplicate.
      assert.equal((await store.events.append(stripe('evt_1'), ['a', 'b'], c.ids)).duplicate, false);
    });

    test('lists by source, type and time, newest first, in pages', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const c = clock();
      const all: StoredEvent[] = [];
      for (let i = 0; i < 30; i++) {
        c.now = T0 + i * 1000;
        const source = i % 3 === 0 ? 'github' : 'stripe';
        const r = await store.events.append(
          { source, type: i % 2 === 0 ? 'even' : 'odd', externalId: `x${i}`, payload: `${i}` },
          [],
          c.ids,
        );
        assert.ok(!r.duplicate);
        all.push(r.event);
      }
      const newest = [...all].reverse();
      const pages: StoredEvent[][] = [];
      let after: string | undefined;
      do {
        const page = await store.events.list({ limit: 12, after });
        pages.push(page.items);
        after = page.next;
      } while (after !== undefined);
      assert.deepEqual(
        pages.map((p) => p.length),
        [12, 12, 6],
      );
      assert.deepEqual(pages.flat(), newest);

      const ids = (items: StoredEvent[]) => items.map((e) => e.id);
      const github = await store.events.list({ limit: 100, source: 'github' });
      assert.deepEqual(ids(github.items), ids(newest.filter((e) => e.source === 'github')));
      const oddStripe = await store.events.list({ limit: 100, source: 'stripe', type: 'odd' });
      assert.deepEqual(
        ids(oddStripe.items),
        ids(newest.filter((e) => e.source === 'stripe' && e.type === 'odd')),
      );
      // from inclusive, to exclusive.
      const range = await store.events.list({ limit: 100, from: T0 + 5000, to: T0 + 10_000 });
      assert.deepEqual(ids(range.items), ids(all.slice(5, 10).reverse()));
      const firstPage = await store.events.list({ limit: 2, type: 'even', from: T0 + 4000 });
      const second = await store.events.list({
        limit: 2,
        type: 'even',
        from: T0 + 4000,
        after: firstPage.next,
      });
      assert.deepEqual(
        ids([...firstPage.items, ...second.items]),
        ids(newest.filter((e) => e.type === 'even' && e.receivedAt >= T0 + 4000).slice(0, 4)),
      );
      await assert.rejects(store.events.list({ limit: 0 }), hasCode('store_page_limit_invalid'));
    });

    test('exportRange iterates a time range oldest first across batches', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const c = clock();
      const all: StoredEvent[] = [];
      for (let i = 0; i < 23; i++) {
        c.now = T0 + i * 10;
        const r = await store.events.append(stripe(`e${i}`, { source: i % 2 ? 'a' : 'b' }), [], c.ids);
        assert.ok(!r.duplicate);
        all.push(r.event);
      }
      const collect = async (it: AsyncIterable<StoredEvent>) => {
        const out: string[] = [];
        for await (const e of it) out.push(e.id);
        return out;
      };
      assert.deepEqual(
        await collect(store.events.exportRange({}, 5)),
        all.map((e) => e.id),
      );
      assert.deepEqual(
        await collect(store.events.exportRange({ from: T0 + 30, to: T0 + 200 }, 4)),
        all.slice(3, 20).map((e) => e.id),
      );
      assert.deepEqual(
        await collect(store.events.exportRange({ source: 'a' }, 3)),
        all.filter((e) => e.source === 'a').map((e) => e.id),
      );
      // A range that is an exact multiple of the batch ends after one empty read.
      assert.equal((await collect(store.events.exportRange({ to: T0 + 100 }, 5))).length, 10);
      assert.deepEqual(await collect(store.events.exportRange({ from: T0 + 1_000_000 })), []);
      assert.deepEqual(
        (await store.events.getMany([all[4]!.id, 'evt_missing', all[1]!.id])).map((e) => e.id),
        [all[1]!.id, all[4]!.id],
      );
    });

    test('bad events are store_record_invalid and write nothing', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const c = clock();
      const bad: NewEvent[] = [
        { ...stripe('x'), source: '' },
        { ...stripe('x'), type: 'a'.repeat(201) },
        stripe('a\0b'),
        stripe(''),
        { ...stripe('x'), headers: { 'x-n': 1 as unknown as string } },
        { ...stripe('x'), payload: 42 as unknown as string },
      ];
      for (const event of bad) {
        await assert.rejects(store.events.append(event, ['s'], c.ids), hasCode('store_record_invalid'));
      }
      await assert.rejects(store.events.append(stripe('x'), [''], c.ids), hasCode('store_record_invalid'));
      const wrongPrefix: IdIssuer = { next: () => c.ids.next('cfg') };
      await assert.rejects(
        store.events.append(stripe('x'), ['s'], wrongPrefix),
        hasCode('store_record_invalid'),
      );
      assert.equal(await count(store, 'events'), 0);
    });

    test('an injection payload as an external id is stored and matched literally (Q27)', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const c = clock();
      const payload = "x' OR '1'='1";
      assert.equal((await store.events.append(stripe('plain'), [], c.ids)).duplicate, false);
      assert.equal((await store.events.append(stripe(payload), [], c.ids)).duplicate, false);
      assert.equal(await store.events.exists('stripe', payload), true);
      assert.equal(await store.events.exists('stripe', "nope' OR '1'='1"), false);
    });
  });
}
