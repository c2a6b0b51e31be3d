/**
 * Q27: values reach the database as bound parameters, never as SQL text. Payloads that would end the
 * string literal and append SQL are stored and compared as the plain strings they are.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seedRevisions, targets } from './testing.ts';

const PAYLOADS = [
  "x' OR '1'='1",
  "'); DROP TABLE nodes;--",
  '"; DROP TABLE config_revisions;--',
  "cfg_0' OR '1'='1",
  "Robert\\'); DROP TABLE nodes; --",
];

for (const target of targets) {
  describe(`SQL injection payloads on ${target.dialect}`, () => {
    test('instance ids are stored literally and match only themselves', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const now = Date.now();
      const holder = await store.nodes.lease('honest', 60_000, now);
      for (const payload of PAYLOADS) await store.nodes.lease(payload, 60_000, now);
      const leases = await store.nodes.list();
      assert.deepEqual(
        leases.map((l) => l.instanceId),
        ['honest', ...PAYLOADS],
      );
      for (const payload of PAYLOADS) {
        // Injected, `instance_id = '' OR '1'='1'` would match the honest holder's row.
        assert.equal(await store.nodes.heartbeat(holder, payload, now + 1), false);
        assert.equal(await store.nodes.release(holder, payload), false);
      }
      const after = await store.nodes.list();
      assert.equal(after[0]?.instanceId, 'honest');
      assert.equal(after[0]?.heartbeatAt, now, 'no payload touched the honest row');
      assert.equal(after.length, PAYLOADS.length + 1);
    });

    test('cursors are compared as plain strings and the table survives', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const ids = (await seedRevisions(store, 6)).map((r) => r.id).reverse();
      for (const payload of PAYLOADS) {
        // Byte order, as the id column's collation promises (migrations/0001-core.ts).
        const expected = ids.filter((id) => id < payload);
        const page = await store.configRevisions.list({ limit: 100, after: payload });
        assert.deepEqual(
          page.items.map((r) => r.id),
          expected,
          payload,
        );
        const byStatus = await store.configRevisions.list({ limit: 100, after: payload, status: 'applied' });
        assert.ok(byStatus.items.every((r) => r.status === 'applied' && r.id < payload));
      }
      // "cfg_0' OR '1'='1" sorts before every id, so literal treatment returns nothing where injection
      // would return everything.
      assert.deepEqual(
        (await store.configRevisions.list({ limit: 100, after: "cfg_0' OR '1'='1" })).items,
        [],
      );
      assert.equal((await store.configRevisions.list({ limit: 100 })).items.length, 6);
      assert.deepEqual(await store.nodes.list(), []);
    });
  });
}
