import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { Snowflake } from '../core/ids.ts';
import type { ListRevisionsOptions } from './config-revisions.ts';
import type { Store } from './open.ts';
import { seedRevisions, targets } from './testing.ts';

const hasCode = (code: string) => (err: unknown) => isJunctionError(err) && err.code === code;

async function walk(store: Store, options: Omit<ListRevisionsOptions, 'after'>) {
  const pages: string[][] = [];
  let after: string | undefined;
  do {
    const page = await store.configRevisions.list({ ...options, ...(after === undefined ? {} : { after }) });
    pages.push(page.items.map((r) => r.id));
    after = page.next;
    assert.ok(pages.length < 100, 'pagination terminates');
  } while (after !== undefined);
  return pages;
}

for (const target of targets) {
  describe(`config revisions on ${target.dialect}`, () => {
    test('latestApplied is the newest applied revision, ignoring newer rejected ones', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      assert.equal(await store.configRevisions.latestApplied(), undefined);
      const revs = await seedRevisions(store, 6); // statuses: a a r a a r
      assert.deepEqual(await store.configRevisions.latestApplied(), revs[4]);
    });

    test('a revision round-trips every field', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const [applied, , rejected] = await seedRevisions(store, 3);
      const { items } = await store.configRevisions.list({ limit: 10 });
      assert.deepEqual(items, [rejected, items[1], applied]);
      assert.equal(typeof rejected?.createdAt, 'number');
      assert.equal(rejected?.error, 'line 2: bad');
      assert.equal(applied?.appliedBy, 'ops');
    });

    test('the cursor walks every row exactly once, newest first', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const newestFirst = (await seedRevisions(store, 25)).map((r) => r.id).reverse();
      const pages = await walk(store, { limit: 7 });
      assert.deepEqual(
        pages.map((p) => p.length),
        [7, 7, 7, 4],
      );
      assert.deepEqual(pages.flat(), newestFirst);
    });

    test('a page that ends exactly at the last row has no next', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      await seedRevisions(store, 14);
      const pages = await walk(store, { limit: 7 });
      assert.deepEqual(
        pages.map((p) => p.length),
        [7, 7],
      );
    });

    test('listing by status walks only that status', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const revs = await seedRevisions(store, 20);
      const rejected = revs
        .filter((r) => r.status === 'rejected')
        .map((r) => r.id)
        .reverse();
      assert.deepEqual((await walk(store, { limit: 2, status: 'rejected' })).flat(), rejected);
      const applied = revs
        .filter((r) => r.status === 'applied')
        .map((r) => r.id)
        .reverse();
      assert.deepEqual((await walk(store, { limit: 5, status: 'applied' })).flat(), applied);
    });

    test('limits outside 1..1000 are store_page_limit_invalid', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      for (const limit of [0, -1, 1.5, 1001, Number.NaN]) {
        await assert.rejects(store.configRevisions.list({ limit }), hasCode('store_page_limit_invalid'));
      }
    });

    test('ids that are not cfg_ Snowflakes, and unknown statuses, are store_record_invalid', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const ok = {
        id: new Snowflake({ nodeId: 1 }).next('cfg'),
        hash: 'h',
        status: 'applied',
        source: 'file',
      } as const;
      await store.configRevisions.record(ok);
      const bad = [
        { ...ok, id: 'cfg_1' },
        { ...ok, id: new Snowflake({ nodeId: 1 }).next('evt') },
        { ...ok, status: 'pending' as 'applied' },
        { ...ok, source: 'ftp' as 'file' },
      ];
      for (const rev of bad) {
        await assert.rejects(store.configRevisions.record(rev), hasCode('store_record_invalid'));
      }
    });
  });
}
