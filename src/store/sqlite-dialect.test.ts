import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { Kysely, sql } from 'kysely';
import { ImmediateSqliteDialect, NodeSqliteDatabase } from './sqlite-dialect.ts';

interface T {
  t: { a: number | boolean | null; b: string | null; c: unknown };
}

function memory(t: { after(fn: () => unknown): void }): Kysely<T> {
  const db = new Kysely<T>({
    dialect: new ImmediateSqliteDialect(new NodeSqliteDatabase({ path: ':memory:' })),
  });
  t.after(() => db.destroy());
  return db;
}

test('booleans are bound as 1 and 0', async (t) => {
  const db = memory(t);
  await db.schema.createTable('t').addColumn('a', 'integer').addColumn('b', 'text').execute();
  await db
    .insertInto('t')
    .values([
      { a: true, b: 'yes' },
      { a: false, b: 'no' },
    ])
    .execute();
  const rows = await db.selectFrom('t').select(['a', 'b']).where('a', '=', true).execute();
  assert.deepEqual(
    rows.map((r) => ({ ...r })),
    [{ a: 1, b: 'yes' }],
  );
});

test('an object parameter is refused instead of shifting the others (node:sqlite named parameters)', async (t) => {
  const db = memory(t);
  await db.schema.createTable('t').addColumn('c', 'text').addColumn('b', 'text').execute();
  // Bare node:sqlite would read the Date as a named-parameter bag and bind 'x' to the first `?`.
  await assert.rejects(
    db
      .insertInto('t')
      .values({ c: new Date(0), b: 'x' })
      .execute(),
    /SQLite parameter 1 is a Date/,
  );
  const undef = db.insertInto('t').values({ c: sql`${undefined}`, b: 'x' });
  await assert.rejects(undef.execute(), /SQLite parameter 1 is undefined/);
  assert.equal((await db.selectFrom('t').selectAll().execute()).length, 0);
});

test('INSERT … RETURNING is a reader and returns its rows; plain writes report changes', async (t) => {
  const db = memory(t);
  await db.schema
    .createTable('t')
    .addColumn('a', 'integer', (c) => c.primaryKey())
    .addColumn('b', 'text')
    .execute();
  const returned = await db.insertInto('t').values({ b: 'x' }).returning('a').executeTakeFirst();
  assert.equal(returned?.a, 1);
  const result = await db.updateTable('t').set({ b: 'y' }).executeTakeFirst();
  assert.equal(result.numUpdatedRows, 1n);
  const streamed: unknown[] = [];
  for await (const row of db.selectFrom('t').select('b').stream()) streamed.push(row.b);
  assert.deepEqual(streamed, ['y']);
});

test('transactions begin immediate: a reading transaction already holds the write lock', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'junction-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'x.db');
  const db = new Kysely<T>({ dialect: new ImmediateSqliteDialect(new NodeSqliteDatabase({ path: file })) });
  t.after(() => db.destroy());
  await db.schema.createTable('t').addColumn('a', 'integer').execute();
  const other = new DatabaseSync(file);
  t.after(() => other.close());
  other.exec('PRAGMA busy_timeout=0');

  let blocked: unknown;
  await db.transaction().execute(async (trx) => {
    await trx.selectFrom('t').selectAll().execute();
    // With a deferred BEGIN a read takes no write lock, and this would succeed.
    try {
      other.exec('BEGIN IMMEDIATE');
      other.exec('ROLLBACK');
    } catch (err) {
      blocked = err;
    }
  });
  assert.match(String(blocked), /database is locked/);
  other.exec('BEGIN IMMEDIATE'); // released at commit
  other.exec('ROLLBACK');
});

test('a failing transaction rolls back', async (t) => {
  const db = memory(t);
  await db.schema.createTable('t').addColumn('a', 'integer').execute();
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ a: 1 }).execute();
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal((await db.selectFrom('t').selectAll().execute()).length, 0);
});
