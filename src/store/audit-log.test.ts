import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { AuditLogRepository, type AuditRecord, type ListAuditOptions } from './audit-log.ts';
import type { Store } from './open.ts';
import { targets } from './testing.ts';
import { auditRecords, plainLinker, SEED_ACTIONS, seedAuditLog } from './testing-audit.ts';

const PAYLOADS = ["x' OR '1'='1", "'); DROP TABLE audit_log;--", "aud_0' OR '1'='1", '%', '_'];

/** Every page of a list, newest first. */
async function listAll(store: Store, filter: Omit<ListAuditOptions, 'limit' | 'after'>, limit = 7) {
  const seen: AuditRecord[] = [];
  let after: string | undefined;
  do {
    const page = await store.auditLog.list({ ...filter, limit, after });
    seen.push(...page.items);
    after = page.next;
  } while (after !== undefined);
  return seen;
}

function appendInWorker(url: string, nodeId: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./testing-audit-worker.ts', import.meta.url), {
      workerData: { url, nodeId, count: 50, batch: 5 },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`audit worker exited with ${code} before answering`)));
  });
}

const ids = (records: AuditRecord[]) => records.map((r) => r.id);
const newestFirst = (records: AuditRecord[]) => ids([...records].reverse());

for (const target of targets) {
  describe(`audit log on ${target.dialect}`, () => {
    test('appends link to the head in seq order; get and list read them back, newest first', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      assert.deepEqual(await store.auditLog.head(), { seq: 0, hash: '0'.repeat(64) });
      const stored = await seedAuditLog(store, 25, 10);
      assert.deepEqual(
        stored.map((r) => r.seq),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
      const last = stored.at(-1)!;
      assert.deepEqual(await store.auditLog.head(), { seq: 25, hash: last.hash });
      assert.deepEqual(await store.auditLog.get(stored[3]!.id), stored[3]);
      assert.equal(await store.auditLog.get('aud_0000000000000'), undefined);
      assert.deepEqual(ids(await listAll(store, {})), newestFirst(stored));
      const first = await store.auditLog.list({ limit: 25 });
      assert.equal(first.next, undefined, 'no next page when the page holds the rest');
      assert.deepEqual(await store.auditLog.chain(10, 12, 100), stored.slice(10, 12));
    });

    test('filters by action, actor, outcome and time range, alone and together, across pages', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const stored = await seedAuditLog(store, 60, 25);
      const from = stored[10]!.at;
      const to = stored[40]!.at;
      const cases: [Omit<ListAuditOptions, 'limit'>, (r: AuditRecord) => boolean][] = [
        [{ action: 'auth.deny' }, (r) => r.action === 'auth.deny'],
        [{ actor: 'u1' }, (r) => r.actorId === 'u1'],
        [{ outcome: 'deny' }, (r) => r.outcome === 'deny'],
        [{ from }, (r) => r.at >= from],
        [{ to }, (r) => r.at < to],
        [{ from, to }, (r) => r.at >= from && r.at < to],
        [
          { action: 'config.reload', outcome: 'failure', from, to },
          (r) => r.action === 'config.reload' && r.outcome === 'failure' && r.at >= from && r.at < to,
        ],
        [{ actor: 'u2', action: SEED_ACTIONS[0] }, (r) => r.actorId === 'u2' && r.action === SEED_ACTIONS[0]],
        [{ from: 0, to: 1 }, () => false],
        [{ from: Number.MAX_SAFE_INTEGER }, () => false],
      ];
      for (const [filter, keep] of cases) {
        const expected = newestFirst(stored.filter(keep));
        assert.deepEqual(ids(await listAll(store, filter)), expected, JSON.stringify(filter));
      }
    });

    test('the repository has no update or delete, and the database refuses both', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const methods = Object.getOwnPropertyNames(AuditLogRepository.prototype);
      assert.deepEqual(
        methods.filter((m) => /update|delete|remove|truncate|set/i.test(m)),
        [],
      );
      const [row] = await seedAuditLog(store, 1);
      await assert.rejects(
        sql`update audit_log set reason = 'x' where seq = 1`.execute(store.db),
        /append-only/,
      );
      await assert.rejects(sql`delete from audit_log where seq = 1`.execute(store.db), /append-only/);
      if (store.dialect === 'postgres') {
        await assert.rejects(sql`truncate audit_log`.execute(store.db), /append-only/);
      }
      assert.deepEqual(await store.auditLog.get(row!.id), row);
    });

    test('refuses records that break the rules, and a linker that does not continue the head', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const [good] = auditRecords(1);
      const code = { code: 'store_record_invalid' };
      await assert.rejects(store.auditLog.append([{ ...good!, id: 'cfg_0000000000000' }], plainLinker), code);
      // biome-ignore lint/suspicious/noExplicitAny: a caller outside TypeScript's reach.
      await assert.rejects(store.auditLog.append([{ ...good!, outcome: 'maybe' as any }], plainLinker), code);
      await assert.rejects(store.auditLog.append([{ ...good!, action: '' }], plainLinker), code);
      const forked = (head: Parameters<typeof plainLinker>[0], rs: Parameters<typeof plainLinker>[1]) =>
        plainLinker({ seq: (head?.seq ?? 0) + 5, hash: head?.hash ?? '' }, rs);
      await assert.rejects(store.auditLog.append([good!], forked), code);
      assert.deepEqual(await store.auditLog.head(), { seq: 0, hash: '0'.repeat(64) });
      assert.deepEqual((await store.auditLog.list({ limit: 10 })).items, []);
    });

    test('storedIds names the ids already stored (a retry after a lost commit skips them)', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const stored = await seedAuditLog(store, 3);
      const found = await store.auditLog.storedIds([stored[0]!.id, 'aud_0000000000000', stored[2]!.id]);
      assert.deepEqual([...found].sort(), [stored[0]!.id, stored[2]!.id].sort());
      assert.deepEqual(await store.auditLog.storedIds([]), new Set());
    });

    test('4 stores appending 50 records each in parallel build one linear chain', async (t) => {
      const site = await target.setup(t);
      const first = await site.openMigrated();
      if (target.dialect === 'sqlite') {
        // One thread per store: see testing-audit-worker.ts.
        const counts = await Promise.all([0, 1, 2, 3].map((n) => appendInWorker(site.url, 10 + n)));
        assert.deepEqual(counts, [50, 50, 50, 50]);
      } else {
        const stores = [first, ...(await Promise.all([1, 2, 3].map(() => site.open({ poolMax: 4 }))))];
        await Promise.all(
          stores.map(async (store, n) => {
            const records = auditRecords(50, undefined, 10 + n);
            // Several appends in flight per store too: batches of 5, all at once, over 4 connections.
            await Promise.all(
              Array.from({ length: 10 }, (_, i) =>
                store.auditLog.append(records.slice(i * 5, i * 5 + 5), plainLinker),
              ),
            );
          }),
        );
      }
      const chain = await first.auditLog.chain(0, 1_000, 1_000);
      assert.equal(chain.length, 200);
      chain.forEach((r, i) => {
        assert.equal(r.seq, i + 1);
        assert.equal(r.prevHash, i === 0 ? '0'.repeat(64) : chain[i - 1]!.hash, `link at seq ${r.seq}`);
      });
      assert.equal(new Set(ids(chain)).size, 200);
      assert.deepEqual(await first.auditLog.head(), { seq: 200, hash: chain.at(-1)!.hash });
    });

    test('injection payloads in filters and cursors are matched literally (Q27)', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const stored = await seedAuditLog(store, 6);
      for (const payload of PAYLOADS) {
        for (const filter of [{ action: payload }, { actor: payload }]) {
          assert.deepEqual((await store.auditLog.list({ limit: 100, ...filter })).items, [], payload);
        }
        assert.equal(await store.auditLog.get(payload), undefined);
        const expected = newestFirst(stored).filter((id) => id < payload);
        assert.deepEqual(ids((await store.auditLog.list({ limit: 100, after: payload })).items), expected);
      }
      const [literal] = auditRecords(1, Date.now());
      await store.auditLog.append(
        [{ ...literal!, action: PAYLOADS[1]!, actorId: PAYLOADS[0]! }],
        plainLinker,
      );
      assert.equal((await store.auditLog.list({ limit: 100, action: PAYLOADS[1] })).items.length, 1);
      assert.equal((await store.auditLog.list({ limit: 100, actor: PAYLOADS[0] })).items.length, 1);
      assert.equal((await store.auditLog.list({ limit: 100 })).items.length, 7, 'the table survived');
    });
  });
}
