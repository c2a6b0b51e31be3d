import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { targets } from './testing.ts';

const TTL = 10_000;
const T0 = 1_800_000_000_000;
const hasCode = (code: string) => (err: unknown) => isJunctionError(err) && err.code === code;

for (const target of targets) {
  describe(`poll cursors on ${target.dialect}`, () => {
    test('one owner at a time; the holder stores the cursor under its lease', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.pollCursors;
      assert.equal(await repo.get('github'), undefined);
      const a = await repo.acquireLease('github', 'node-a', TTL, T0);
      assert.deepEqual(a, { source: 'github', owner: 'node-a', fence: 1, expiresAt: T0 + TTL });
      assert.equal(await repo.acquireLease('github', 'node-b', TTL, T0 + TTL - 1), undefined);
      assert.equal(await repo.set(a!, { cursor: 'page-2', etag: 'W/"1"' }, T0 + 5), true);
      const stored = await repo.get('github');
      assert.deepEqual(
        [stored?.cursor, stored?.etag, stored?.updatedAt, stored?.leaseOwner, stored?.fence],
        ['page-2', 'W/"1"', T0 + 5, 'node-a', 1],
      );
      // Sources are separate.
      assert.ok(await repo.acquireLease('jira', 'node-b', TTL, T0));
    });

    test('an expired lease is taken with a higher fence; the stale holder’s writes are refused', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.pollCursors;
      const a = (await repo.acquireLease('github', 'node-a', TTL, T0))!;
      assert.ok(await repo.set(a, { cursor: 'c1', etag: null }, T0 + 1));
      const b = await repo.acquireLease('github', 'node-b', TTL, T0 + TTL);
      assert.deepEqual([b?.owner, b?.fence], ['node-b', 2]);

      assert.equal(await repo.set(a, { cursor: 'stale', etag: null }, T0 + TTL + 1), false);
      assert.equal(await repo.renew(a, TTL, T0 + TTL + 1), undefined);
      assert.equal(await repo.release(a), false);
      assert.equal((await repo.get('github'))?.cursor, 'c1', 'the cursor did not move back');

      assert.ok(await repo.set(b!, { cursor: 'c2', etag: '"e"' }, T0 + TTL + 2));
      const renewed = await repo.renew(b!, TTL, T0 + TTL + 3);
      assert.deepEqual(renewed, { ...b, expiresAt: T0 + 2 * TTL + 3 });
      assert.equal(await repo.acquireLease('github', 'node-a', TTL, T0 + 2 * TTL + 2), undefined, 'renewed');
    });

    test('release frees the source at once; re-acquiring one’s own lease fences the old one', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.pollCursors;
      const a = (await repo.acquireLease('s', 'node-a', TTL, T0))!;
      assert.equal(await repo.release(a), true);
      assert.equal(await repo.set(a, { cursor: 'x', etag: null }, T0 + 1), false, 'released means gone');
      const b = (await repo.acquireLease('s', 'node-b', TTL, T0 + 1))!;
      assert.equal(b.fence, 2);
      // node-b restarts and acquires again before its lease expired: the pre-restart lease is fenced.
      const b2 = (await repo.acquireLease('s', 'node-b', TTL, T0 + 2))!;
      assert.equal(b2.fence, 3);
      assert.equal(await repo.set(b, { cursor: 'old', etag: null }, T0 + 3), false);
      assert.equal(await repo.set(b2, { cursor: 'new', etag: null }, T0 + 3), true);
    });

    test('a lease that expired but was not taken is still its holder’s', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.pollCursors;
      const a = (await repo.acquireLease('s', 'node-a', TTL, T0))!;
      assert.equal(await repo.set(a, { cursor: 'late', etag: null }, T0 + 2 * TTL), true);
      assert.ok(await repo.renew(a, TTL, T0 + 2 * TTL));
    });

    test('concurrent acquisitions: exactly one owner wins', async (t) => {
      const site = await target.setup(t);
      const store = await site.openMigrated();
      const others =
        target.dialect === 'postgres'
          ? await Promise.all([1, 2, 3].map(() => site.open({ poolMax: 3 })))
          : [];
      const stores = [store, ...others];
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          stores[i % stores.length]!.pollCursors.acquireLease('github', `node-${i}`, TTL),
        ),
      );
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.equal((await store.pollCursors.get('github'))?.leaseOwner, winners[0]!.owner);
    });

    test('bad arguments are store_record_invalid', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const repo = store.pollCursors;
      await assert.rejects(repo.acquireLease('', 'a', TTL), hasCode('store_record_invalid'));
      await assert.rejects(repo.acquireLease('s', 'a', 0), hasCode('store_record_invalid'));
      const a = (await repo.acquireLease('s', 'a', TTL))!;
      await assert.rejects(
        repo.set(a, { cursor: 'x'.repeat(5000), etag: null }),
        hasCode('store_record_invalid'),
      );
    });
  });
}
