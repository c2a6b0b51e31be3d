import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { migrations } from './migrations/index.ts';
import { targets } from './testing.ts';

test('migration names are ordered, numbered and listed in order (append-only)', () => {
  const names = Object.keys(migrations);
  assert.ok(names.length > 0);
  assert.deepEqual([...names].sort(), names, 'Kysely runs migrations in name order');
  names.forEach((name, i) => {
    assert.match(name, /^\d{4}-[a-z0-9-]+$/);
    assert.equal(Number(name.slice(0, 4)), i + 1, `${name} is number ${i + 1}`);
  });
});

for (const target of targets) {
  describe(`migrations on ${target.dialect}`, () => {
    test('apply once, then find nothing to do, from this or another store', async (t) => {
      const site = await target.setup(t);
      const first = await site.open();
      assert.deepEqual(await first.migrate(), { applied: Object.keys(migrations) });
      assert.deepEqual(await first.migrate(), { applied: [] });
      const second = await site.open();
      assert.deepEqual(await second.migrate(), { applied: [] });

      // Introspection lists every schema of the database, and other tests run beside this one in
      // their own schemas: look only at this test's (tables landing elsewhere would be missing here).
      const tables = await first.db.introspection.getTables();
      const ours = tables.filter(
        (tb) =>
          (tb.name === 'nodes' || tb.name === 'config_revisions') &&
          (site.pgSchema === undefined || tb.schema === site.pgSchema),
      );
      assert.deepEqual(ours.map((tb) => tb.name).sort(), ['config_revisions', 'nodes']);
    });

    if (target.dialect === 'postgres') {
      test('concurrent migrate calls apply each migration exactly once', async (t) => {
        const site = await target.setup(t);
        const stores = await Promise.all([1, 2, 3, 4].map(() => site.open({ poolMax: 1 })));
        const results = await Promise.all(stores.map((s) => s.migrate()));
        assert.deepEqual(
          results.flatMap((r) => r.applied),
          Object.keys(migrations),
        );
      });
    }
  });
}

test('migrating on PostgreSQL survives other clients dropping schemas during its catalog scan', async (t) => {
  const { default: pg } = await import('pg');
  const { PG_TEST_URL, postgresTarget } = await import('./testing.ts');
  const churn = new pg.Client({ connectionString: PG_TEST_URL });
  await churn.connect();
  let stop = false;
  const prefix = `churn_${process.pid}_`;
  // Another client creating and dropping schemas as fast as it can, like a neighbour's test suite.
  const churning = (async () => {
    for (let i = 0; !stop; i++) {
      await churn.query(`CREATE SCHEMA ${prefix}${i}`);
      await churn.query(`CREATE TABLE ${prefix}${i}.t (id int)`);
      await churn.query(`DROP SCHEMA ${prefix}${i} CASCADE`);
    }
  })();
  t.after(async () => {
    stop = true;
    await churning;
    await churn.end();
  });
  for (let i = 0; i < 15; i++) {
    const site = await postgresTarget.setup(t);
    const store = await site.open();
    assert.deepEqual(await store.migrate(), { applied: Object.keys(migrations) });
  }
});
