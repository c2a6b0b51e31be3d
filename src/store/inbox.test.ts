import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Transaction } from 'kysely';
import { isJunctionError } from '../core/errors.ts';
import type { Store } from './open.ts';
import type { Database } from './schema.ts';
import { targets } from './testing.ts';

const hasCode = (code: string) => (err: unknown) => isJunctionError(err) && err.code === code;

/** A table of the consumer's own, as a user's service would have beside the inbox. */
type Ledger = { ledger: { message_id: string; amount: number } };

async function withLedger(store: Store) {
  await store.db.schema
    .createTable('ledger')
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'integer', (c) => c.notNull())
    .execute();
  const book = (messageId: string, amount: number) => async (trx: Transaction<Database>) => {
    await trx.withTables<Ledger>().insertInto('ledger').values({ message_id: messageId, amount }).execute();
    return amount;
  };
  const rows = async () => {
    const found = await store.db
      .withTables<Ledger>()
      .selectFrom('ledger')
      .selectAll()
      .orderBy('message_id')
      .execute();
    // node:sqlite rows have a null prototype.
    return found.map((r) => ({ ...r }));
  };
  return { book, rows };
}

for (const target of targets) {
  describe(`inbox on ${target.dialect}`, () => {
    test('a message id runs its effect once; the duplicate is skipped', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const { book, rows } = await withLedger(store);
      assert.deepEqual(await store.inbox.process('ledger', 'evt_1', book('evt_1', 10), 1000), {
        duplicate: false,
        value: 10,
      });
      assert.deepEqual(await store.inbox.process('ledger', 'evt_1', book('evt_1', 10), 2000), {
        duplicate: true,
      });
      assert.deepEqual(await rows(), [{ message_id: 'evt_1', amount: 10 }]);
      assert.equal(await store.inbox.has('ledger', 'evt_1'), true);
      // Consumers are separate: another one processes the same message for itself.
      assert.equal((await store.inbox.process('crm', 'evt_1', async () => 'ok')).duplicate, false);
    });

    test('a throwing effect records nothing, so the redelivery runs it', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const { book, rows } = await withLedger(store);
      await assert.rejects(
        store.inbox.process('ledger', 'evt_1', async (trx) => {
          await book('evt_1', 10)(trx);
          throw new Error('downstream validation failed');
        }),
        /downstream validation failed/,
      );
      assert.deepEqual(await rows(), [], 'the effect’s own write rolled back');
      assert.equal(await store.inbox.has('ledger', 'evt_1'), false);
      assert.equal((await store.inbox.process('ledger', 'evt_1', book('evt_1', 10))).duplicate, false);
      assert.deepEqual(await rows(), [{ message_id: 'evt_1', amount: 10 }]);
    });

    test('concurrent duplicates run the effect once', async (t) => {
      const site = await target.setup(t);
      const store = await site.openMigrated();
      const { book, rows } = await withLedger(store);
      const others =
        target.dialect === 'postgres'
          ? await Promise.all([1, 2, 3].map(() => site.open({ poolMax: 4 })))
          : [];
      const stores = [store, ...others];
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          stores[i % stores.length]!.inbox.process('ledger', 'evt_race', async (trx) => {
            // Hold the transaction open a little, so the duplicates really overlap it.
            await new Promise((resolve) => setTimeout(resolve, 5));
            return book('evt_race', i)(trx);
          }),
        ),
      );
      assert.equal(results.filter((r) => !r.duplicate).length, 1);
      assert.equal((await rows()).length, 1);
    });

    test('sweep deletes ids processed before the cutoff, in batches', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      for (let i = 0; i < 5; i++) await store.inbox.process('c', `m${i}`, async () => i, 100 + i);
      assert.equal(await store.inbox.sweep(103, 2), 2);
      assert.equal(await store.inbox.sweep(103, 2), 1);
      assert.equal(await store.inbox.sweep(103, 2), 0);
      assert.deepEqual(await Promise.all(['m0', 'm2', 'm3', 'm4'].map((m) => store.inbox.has('c', m))), [
        false,
        false,
        true,
        true,
      ]);
    });

    test('bad ids are store_record_invalid and run nothing', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      let ran = false;
      const effect = async () => {
        ran = true;
      };
      await assert.rejects(store.inbox.process('', 'm', effect), hasCode('store_record_invalid'));
      await assert.rejects(store.inbox.process('c', 'a\0b', effect), hasCode('store_record_invalid'));
      assert.equal(ran, false);
    });
  });
}
