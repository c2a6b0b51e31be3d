import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { JUNCTION_EPOCH, Snowflake } from '../core/ids.ts';
import type { NewApiKey } from './api-keys.ts';
import type { Store } from './open.ts';
import { targets } from './testing.ts';

const hasCode = (code: string) => (err: unknown) => isJunctionError(err) && err.code === code;

const PAYLOADS = ["x' OR '1'='1", "'); DROP TABLE api_keys;--", '" OR ""="', "acme' --"];

function keys() {
  let now = JUNCTION_EPOCH + 5_000_000;
  const ids = new Snowflake({ nodeId: 7, now: () => now });
  let n = 0;
  return (overrides: Partial<NewApiKey> = {}): NewApiKey => {
    now += 1;
    n += 1;
    return {
      id: ids.next('jk'),
      prefix: `p${String(n).padStart(11, '0')}`,
      hash: createHash('sha256').update(`secret-${n}`).digest('hex'),
      name: `key ${n}`,
      scopes: ['orders:read'],
      roles: ['reader'],
      createdAt: now,
      ...overrides,
    };
  };
}

async function walk(store: Store, tenant: string | undefined, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  do {
    const page = await store.apiKeys.list({ limit, after, ...(tenant === undefined ? {} : { tenant }) });
    pages.push(page.items.map((k) => k.id));
    after = page.next;
    assert.ok(pages.length < 100, 'pagination terminates');
  } while (after !== undefined);
  return pages;
}

for (const target of targets) {
  describe(`api keys on ${target.dialect}`, () => {
    test('a key round-trips every field, found by id and by prefix', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const next = keys();
      const input = next({
        scopes: ['orders:read', 'orders:write'],
        roles: ['writer', 'junction:viewer'],
        tenant: 'acme',
        expiresAt: JUNCTION_EPOCH + 9_000_000,
        createdBy: 'ops',
      });
      const stored = await store.apiKeys.create(input);
      assert.deepEqual(stored, { ...input, revokedAt: null, lastUsedAt: null });
      assert.deepEqual(await store.apiKeys.get(input.id), stored);
      assert.deepEqual(await store.apiKeys.findByPrefix(input.prefix), stored);
      const plain = await store.apiKeys.create(next());
      assert.equal(plain.tenant, null);
      assert.equal(plain.expiresAt, null);
      assert.equal(plain.createdBy, null);
      assert.equal(await store.apiKeys.get('jk_0000000000000'), undefined);
      assert.equal(await store.apiKeys.findByPrefix('p99999999999'), undefined);
    });

    test('two keys never share a prefix', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const next = keys();
      const first = await store.apiKeys.create(next());
      await assert.rejects(store.apiKeys.create(next({ prefix: first.prefix })));
      assert.equal((await store.apiKeys.list({ limit: 10 })).items.length, 1);
    });

    test('the cursor walks every key once, newest first, and a tenant sees only its own', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const next = keys();
      const created = [];
      for (let i = 0; i < 23; i++) {
        created.push(await store.apiKeys.create(next(i % 3 === 0 ? { tenant: 'acme' } : {})));
      }
      const newestFirst = created.map((k) => k.id).reverse();
      const pages = await walk(store, undefined, 5);
      assert.deepEqual(
        pages.map((p) => p.length),
        [5, 5, 5, 5, 3],
      );
      assert.deepEqual(pages.flat(), newestFirst);
      const acme = created
        .filter((k) => k.tenant === 'acme')
        .map((k) => k.id)
        .reverse();
      assert.deepEqual((await walk(store, 'acme', 3)).flat(), acme);
      assert.deepEqual((await walk(store, 'globex', 3)).flat(), []);
    });

    test('revoking keeps the first revocation time; an unknown id is undefined', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const key = await store.apiKeys.create(keys()());
      assert.equal((await store.apiKeys.revoke(key.id, 1_000))?.revokedAt, 1_000);
      assert.equal((await store.apiKeys.revoke(key.id, 2_000))?.revokedAt, 1_000);
      assert.equal((await store.apiKeys.findByPrefix(key.prefix))?.revokedAt, 1_000);
      assert.equal(await store.apiKeys.revoke('jk_0000000000000', 3_000), undefined);
    });

    test('last use is written at most once a minute', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const key = await store.apiKeys.create(keys()());
      const t0 = 1_800_000_000_000;
      assert.equal(await store.apiKeys.touch(key.id, t0), true);
      assert.equal(await store.apiKeys.touch(key.id, t0 + 59_999), false);
      assert.equal((await store.apiKeys.get(key.id))?.lastUsedAt, t0);
      assert.equal(await store.apiKeys.touch(key.id, t0 + 60_000), true);
      assert.equal((await store.apiKeys.get(key.id))?.lastUsedAt, t0 + 60_000);
      assert.equal(await store.apiKeys.touch('jk_0000000000000', t0), false);
    });

    test('records that break the table rules are store_record_invalid', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const next = keys();
      const bad: Partial<NewApiKey>[] = [
        { id: 'jk_1' },
        { id: new Snowflake({ nodeId: 1 }).next('cfg') },
        { prefix: 'short' },
        { prefix: 'UPPERCASE000' },
        { hash: 'not-a-digest' },
        { name: '' },
        { scopes: [''] },
        { roles: 'admin' as unknown as string[] },
        { tenant: '' },
        { expiresAt: 1.5 },
      ];
      for (const overrides of bad) {
        await assert.rejects(store.apiKeys.create(next(overrides)), hasCode('store_record_invalid'));
      }
      for (const limit of [0, 1001, 2.5]) {
        await assert.rejects(store.apiKeys.list({ limit }), hasCode('store_page_limit_invalid'));
      }
    });

    test('injection payloads as prefix, tenant, id and cursor are plain data (Q27)', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const next = keys();
      const honest = await store.apiKeys.create(next({ tenant: 'acme' }));
      for (const payload of PAYLOADS) {
        assert.equal(await store.apiKeys.findByPrefix(payload), undefined);
        assert.equal(await store.apiKeys.get(payload), undefined);
        assert.equal(await store.apiKeys.revoke(payload), undefined);
        assert.deepEqual((await store.apiKeys.list({ limit: 10, tenant: payload })).items, []);
        const afterPayload = await store.apiKeys.list({ limit: 10, after: payload });
        assert.deepEqual(
          afterPayload.items.map((k) => k.id),
          honest.id < payload ? [honest.id] : [],
        );
      }
      const tenanted = await store.apiKeys.create(next({ tenant: PAYLOADS[0]! }));
      assert.deepEqual(
        (await store.apiKeys.list({ limit: 10, tenant: PAYLOADS[0]! })).items.map((k) => k.id),
        [tenanted.id],
      );
      assert.equal(
        (await store.apiKeys.get(honest.id))?.revokedAt,
        null,
        'no payload touched the honest key',
      );
    });
  });
}
