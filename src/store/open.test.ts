import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { isJunctionError } from '../core/errors.ts';
import { openStore } from './open.ts';
import { PG_TEST_URL } from './testing.ts';
import { parseStoreUrl, resolveStoreTarget } from './url.ts';

function hasCode(code: string) {
  return (err: unknown) => isJunctionError(err) && err.code === code;
}

test('an explicit url wins over JUNCTION_DATABASE_URL and the data directory', () => {
  const env = { JUNCTION_DATABASE_URL: 'postgres://db/x', JUNCTION_DATA_DIR: '/srv/j' };
  assert.deepEqual(resolveStoreTarget({ url: 'sqlite::memory:', dataDir: '/d' }, env), {
    dialect: 'sqlite',
    path: ':memory:',
  });
  assert.deepEqual(resolveStoreTarget({ dataDir: '/d' }, env), {
    dialect: 'postgres',
    url: 'postgres://db/x',
  });
});

test('without a url the SQLite file is junction.db in dataDir, then JUNCTION_DATA_DIR, then ./data', () => {
  const env = { JUNCTION_DATA_DIR: '/srv/j' };
  assert.deepEqual(resolveStoreTarget({ dataDir: '/d' }, env), {
    dialect: 'sqlite',
    path: '/d/junction.db',
    dir: '/d',
  });
  assert.deepEqual(resolveStoreTarget({}, env), {
    dialect: 'sqlite',
    path: '/srv/j/junction.db',
    dir: '/srv/j',
  });
  assert.deepEqual(resolveStoreTarget({}, { JUNCTION_DATABASE_URL: '' }), {
    dialect: 'sqlite',
    path: 'data/junction.db',
    dir: './data',
  });
});

test('sqlite: and postgres URLs parse; sqlite paths may be relative or absolute', () => {
  assert.deepEqual(parseStoreUrl('sqlite:./var/j.db'), {
    dialect: 'sqlite',
    path: './var/j.db',
    dir: './var',
  });
  assert.deepEqual(parseStoreUrl('sqlite:/abs/j.db'), { dialect: 'sqlite', path: '/abs/j.db', dir: '/abs' });
  assert.deepEqual(parseStoreUrl('postgresql://u@h/d'), { dialect: 'postgres', url: 'postgresql://u@h/d' });
  assert.deepEqual(parseStoreUrl('POSTGRES://u@h/d'), { dialect: 'postgres', url: 'POSTGRES://u@h/d' });
});

test('an unknown scheme is store_url_invalid naming the scheme but not the password', () => {
  assert.throws(
    () => parseStoreUrl('mysql://root:hunter2@db/x'),
    (err: unknown) =>
      hasCode('store_url_invalid')(err) &&
      (err as Error).message.includes('mysql:') &&
      !(err as Error).message.includes('hunter2'),
  );
  assert.throws(() => parseStoreUrl('/just/a/path.db'), /no scheme/);
  assert.throws(() => parseStoreUrl('sqlite:'), hasCode('store_url_invalid'));
});

test('the default SQLite location is created and opened in WAL mode', async (t) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'junction-open-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const dataDir = path.join(tmp, 'nested', 'data');
  const store = await openStore({ dataDir, env: {} });
  t.after(() => store.close());
  assert.equal(store.dialect, 'sqlite');
  assert.ok(existsSync(path.join(dataDir, 'junction.db')));
  const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
  assert.equal(rows[0]?.journal_mode, 'wal');
});

test('synchronous defaults to NORMAL and FULL can be asked for', async (t) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'junction-open-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const normal = await openStore({ dataDir: tmp, env: {} });
  const full = await openStore({ dataDir: tmp, synchronous: 'FULL', env: {} });
  t.after(() => Promise.all([normal.close(), full.close()]));
  // https://www.sqlite.org/pragma.html#pragma_synchronous: 1 = NORMAL, 2 = FULL
  const level = async (s: typeof normal) =>
    (await sql<{ synchronous: number }>`pragma synchronous`.execute(s.db)).rows[0]?.synchronous;
  assert.equal(await level(normal), 1);
  assert.equal(await level(full), 2);
  await assert.rejects(
    // @ts-expect-error: a value from untyped config must still be refused
    openStore({ url: 'sqlite::memory:', synchronous: 'OFF; drop table x' }),
    hasCode('store_option_invalid'),
  );
});

test('JUNCTION_DATABASE_URL selects PostgreSQL and the store connects at open', async (t) => {
  const store = await openStore({ env: { JUNCTION_DATABASE_URL: PG_TEST_URL }, poolMax: 1 });
  t.after(() => store.close());
  assert.equal(store.dialect, 'postgres');
  const { rows } = await sql<{ n: number }>`select 41::bigint + 1 as n`.execute(store.db);
  assert.equal(rows[0]?.n, 42, 'BIGINT arrives as a number through the per-pool type parser');
});

test('an unreachable PostgreSQL fails openStore with store_unavailable', async () => {
  await assert.rejects(
    openStore({ url: 'postgres://postgres@127.0.0.1:1/test', env: {} }),
    hasCode('store_unavailable'),
  );
});

test('a pgSchema that is not a plain identifier is refused before connecting', async () => {
  for (const pgSchema of ['Public', 'a-b', 'x; drop schema public', '1abc', '']) {
    await assert.rejects(openStore({ url: PG_TEST_URL, pgSchema, env: {} }), hasCode('store_option_invalid'));
  }
});

test('close is idempotent', async () => {
  const store = await openStore({ url: 'sqlite::memory:', env: {} });
  await store.migrate();
  await store.close();
  await store.close();
});
