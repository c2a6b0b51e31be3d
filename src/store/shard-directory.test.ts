import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { targets } from './testing.ts';

for (const target of targets) {
  describe(`shard directory on ${target.dialect}`, () => {
    test('put, replace, get and delete an entry; routes do not see each other', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      await store.shards.put('accounts', 'acme', 'accounts-eu', 1000);
      assert.deepEqual(await store.shards.get('accounts', 'acme'), {
        route: 'accounts',
        key: 'acme',
        upstream: 'accounts-eu',
        updatedAt: 1000,
      });
      await store.shards.put('accounts', 'acme', 'accounts-us', 2000);
      assert.equal((await store.shards.get('accounts', 'acme'))?.upstream, 'accounts-us');
      assert.equal(await store.shards.get('orders', 'acme'), undefined);
      assert.equal(await store.shards.delete('accounts', 'acme'), true);
      assert.equal(await store.shards.delete('accounts', 'acme'), false);
      assert.equal(await store.shards.get('accounts', 'acme'), undefined);
    });

    test('listing walks one route in key order, each key once', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const keys = Array.from({ length: 23 }, (_, i) => `k${String(i).padStart(2, '0')}`);
      for (const k of [...keys].reverse()) await store.shards.put('r', k, 'u');
      await store.shards.put('other', 'k05', 'u');
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await store.shards.list('r', { limit: 10, after });
        seen.push(...page.items.map((e) => e.key));
        after = page.next;
      } while (after !== undefined);
      assert.deepEqual(seen, keys);
    });

    test('an injection payload as a key is stored and matched literally (Q27)', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      await store.shards.put('r', 'honest', 'a');
      const payload = "x' OR '1'='1";
      assert.equal(await store.shards.get('r', payload), undefined);
      await store.shards.put('r', payload, 'b');
      assert.equal((await store.shards.get('r', payload))?.upstream, 'b');
      assert.equal((await store.shards.get('r', 'honest'))?.upstream, 'a');
    });
  });
}
