/**
 * Tampering with a stored chain, as someone with the table owner's rights on the database would:
 * every change is found, at the first record it breaks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import type { AuditRecord, Store } from '../store/index.ts';
import { targets } from '../store/testing.ts';
import { dropAppendOnlyGuards, insertRaw, rehashed, seedChain } from './testing.ts';
import { type VerifyResult, verifyChain } from './verify.ts';

async function tamperable(
  t: Parameters<(typeof targets)[number]['setup']>[0],
  target: (typeof targets)[number],
) {
  const store = await (await target.setup(t)).openMigrated();
  const chain = await seedChain(store, 50, 9);
  await dropAppendOnlyGuards(store);
  return { store, chain };
}

const deleteSeq = (store: Store, seq: number) =>
  sql`delete from audit_log where seq = ${seq}`.execute(store.db);

function failure(result: VerifyResult) {
  assert.equal(result.intact, false, 'verification must fail');
  return (result as Extract<VerifyResult, { intact: false }>).failure;
}

for (const target of targets) {
  describe(`audit chain verification on ${target.dialect}`, () => {
    test('an untouched chain verifies, page after page; an empty log too', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      assert.deepEqual(await verifyChain(store.auditLog), {
        intact: true,
        records: 0,
        head: { seq: 0, hash: '0'.repeat(64) },
      });
      const chain = await seedChain(store, 50, 9);
      assert.deepEqual(await verifyChain(store.auditLog, { pageSize: 7 }), {
        intact: true,
        records: 50,
        head: { seq: 50, hash: chain.at(-1)!.hash },
      });
    });

    test('UPDATE of a row’s after: fails at that row, its hash no longer matches', async (t) => {
      const { store, chain } = await tamperable(t, target);
      await sql`update audit_log set "after" = ${'{"i":999}'} where seq = 37`.execute(store.db);
      const f = failure(await verifyChain(store.auditLog, { pageSize: 7 }));
      assert.equal(f.mismatch, 'hash');
      assert.equal(f.seq, 37);
      assert.equal(f.id, chain[36]!.id);
      assert.equal(f.actual, chain[36]!.hash);
      assert.match(f.message, /seq 37 \(aud_\w+\): stored hash \w+ does not match its fields/);
    });

    test('DELETE of a middle row: fails at the next row, its prev_hash links to nothing', async (t) => {
      const { store, chain } = await tamperable(t, target);
      await deleteSeq(store, 20);
      const result = await verifyChain(store.auditLog, { pageSize: 7 });
      const f = failure(result);
      assert.equal(f.mismatch, 'prev_hash');
      assert.equal(f.seq, 21);
      assert.equal(f.id, chain[20]!.id);
      assert.deepEqual(f.missing, [20, 20]);
      assert.equal(f.expected, chain[18]!.hash);
      assert.match(f.message, /seq 20 is missing/);
      assert.equal(result.records, 19, 'records checked before the failure');
    });

    test('a forged row with a recomputed hash but the wrong prev_hash: fails at the forged row', async (t) => {
      const { store, chain } = await tamperable(t, target);
      await deleteSeq(store, 30);
      await insertRaw(store, rehashed(chain[29]!, { outcome: 'allow', prevHash: 'e'.repeat(64) }));
      const f = failure(await verifyChain(store.auditLog));
      assert.deepEqual([f.mismatch, f.seq, f.id], ['prev_hash', 30, chain[29]!.id]);
    });

    test('a forged row with the right prev_hash and a recomputed hash: fails at the row after it', async (t) => {
      const { store, chain } = await tamperable(t, target);
      await deleteSeq(store, 30);
      await insertRaw(store, rehashed(chain[29]!, { outcome: 'allow' }));
      const f = failure(await verifyChain(store.auditLog));
      assert.deepEqual([f.mismatch, f.seq], ['prev_hash', 31]);
    });

    test('two rows swapped: fails at the first of them', async (t) => {
      const { store, chain } = await tamperable(t, target);
      await deleteSeq(store, 10);
      await deleteSeq(store, 11);
      await insertRaw(store, { ...chain[10]!, seq: 10 });
      await insertRaw(store, { ...chain[9]!, seq: 11 });
      const f = failure(await verifyChain(store.auditLog));
      assert.deepEqual([f.mismatch, f.seq, f.id], ['prev_hash', 10, chain[10]!.id]);
    });

    test('renumbered rows with intact links: the seq check catches what the links do not', async (t) => {
      const { store, chain } = await tamperable(t, target);
      // Removing seq 50 and re-adding it as 52, hash recomputed: links hold, numbering does not.
      await deleteSeq(store, 50);
      await insertRaw(store, rehashed(chain[49]!, { seq: 52 }));
      await sql`update audit_chain_head set seq = 52`.execute(store.db);
      const f = failure(await verifyChain(store.auditLog));
      assert.deepEqual([f.mismatch, f.seq, f.expected], ['seq', 52, '50']);
    });

    test('rows removed from the end: the head no longer matches the last row', async (t) => {
      const { store } = await tamperable(t, target);
      for (const seq of [48, 49, 50]) await deleteSeq(store, seq);
      const f = failure(await verifyChain(store.auditLog));
      assert.deepEqual([f.mismatch, f.seq], ['head', 48]);
    });

    test('a row appended beside the chain lock (head not moved): reported as beyond the head', async (t) => {
      const { store, chain } = await tamperable(t, target);
      await insertRaw(
        store,
        rehashed(chain[49]!, { seq: 51, id: 'aud_0ZZZZZZZZZZZZ', prevHash: chain[49]!.hash }),
      );
      const f = failure(await verifyChain(store.auditLog));
      assert.deepEqual([f.mismatch, f.seq, f.id], ['head', 51, 'aud_0ZZZZZZZZZZZZ']);
    });

    test('the head row deleted: reported, never taken for an empty log', async (t) => {
      const { store } = await tamperable(t, target);
      await sql`delete from audit_chain_head`.execute(store.db);
      const f = failure(await verifyChain(store.auditLog));
      assert.equal(f.mismatch, 'head');
      assert.match(f.message, /audit_chain_head row is missing/);
    });

    test('a rewrite rehashed to the end passes the chain check; an anchor noted earlier catches it', async (t) => {
      const { store, chain } = await tamperable(t, target);
      const anchor = { seq: 45, hash: chain[44]!.hash };
      let prev: AuditRecord = chain[38]!;
      for (const original of chain.slice(39)) {
        const forged = rehashed(original, {
          prevHash: prev.hash,
          reason: original.seq === 40 ? 'nothing happened' : original.reason,
        });
        await deleteSeq(store, original.seq);
        await insertRaw(store, forged);
        prev = forged;
      }
      await sql`update audit_chain_head set hash = ${prev.hash}`.execute(store.db);
      assert.equal((await verifyChain(store.auditLog)).intact, true, 'a hash chain alone cannot see this');
      const f = failure(await verifyChain(store.auditLog, { anchor }));
      assert.deepEqual([f.mismatch, f.seq, f.expected], ['anchor', 45, anchor.hash]);
      const beyond = failure(await verifyChain(store.auditLog, { anchor: { seq: 60, hash: anchor.hash } }));
      assert.equal(beyond.mismatch, 'anchor');
    });
  });
}
