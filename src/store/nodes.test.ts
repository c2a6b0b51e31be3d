import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { isJunctionError } from '../core/errors.ts';
import { MAX_NODE_ID } from '../core/ids.ts';
import { targets } from './testing.ts';

const TTL = 10_000;
const hasCode = (code: string) => (err: unknown) => isJunctionError(err) && err.code === code;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function leaseInWorker(url: string, prefix: string, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./testing-lease-worker.ts', import.meta.url), {
      workerData: { url, prefix, count },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`lease worker exited with ${code} before answering`)));
  });
}

for (const target of targets) {
  describe(`node id leases on ${target.dialect}`, () => {
    test('leases the lowest free id and gives it back on release', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const now = Date.now();
      assert.equal(await store.nodes.lease('a', TTL, now), 0);
      assert.equal(await store.nodes.lease('b', TTL, now), 1);
      assert.equal(await store.nodes.lease('c', TTL, now), 2);
      assert.equal(await store.nodes.release(1, 'b'), true);
      assert.equal(await store.nodes.lease('d', TTL, now), 1);
      const leases = await store.nodes.list();
      assert.deepEqual(
        leases.map((l) => [l.nodeId, l.instanceId]),
        [
          [0, 'a'],
          [1, 'd'],
          [2, 'c'],
        ],
      );
      assert.equal(leases[0]?.heartbeatAt, now, 'epoch ms survive the round trip as numbers');
      assert.equal(leases[0]?.startedAt, now);
      assert.equal(leases[0]?.pid, process.pid);
    });

    test('concurrent leases from separate stores get distinct ids, the lowest ones', async (t) => {
      const site = await target.setup(t);
      await site.openMigrated();
      let ids: number[];
      if (target.dialect === 'postgres') {
        const stores = await Promise.all(range(20).map(() => site.open({ poolMax: 1 })));
        ids = await Promise.all(stores.map((s, i) => s.nodes.lease(`racer-${i}`, TTL)));
      } else {
        const batches = await Promise.all(range(6).map((w) => leaseInWorker(site.url, `worker-${w}`, 5)));
        ids = batches.flat();
      }
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        range(ids.length),
      );
    });

    test('an expired lease is taken over and its old holder loses the heartbeat', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const t0 = 1_800_000_000_000;
      assert.equal(await store.nodes.lease('old', TTL, t0), 0);
      // A heartbeat exactly TTL old is still live: the cutoff is inclusive.
      assert.equal(await store.nodes.lease('early', TTL, t0 + TTL), 1);
      assert.equal(await store.nodes.lease('new', TTL, t0 + TTL + 1), 0);
      assert.equal(await store.nodes.heartbeat(0, 'old', t0 + TTL + 2), false);
      assert.equal(await store.nodes.heartbeat(0, 'new', t0 + TTL + 2), true);
      assert.equal(await store.nodes.release(0, 'old'), false, 'the old holder cannot release it either');
      const [row] = await store.nodes.list();
      assert.deepEqual([row?.instanceId, row?.heartbeatAt], ['new', t0 + TTL + 2]);
    });

    test('heartbeats keep a lease from being taken', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const t0 = 1_800_000_000_000;
      assert.equal(await store.nodes.lease('a', TTL, t0), 0);
      assert.equal(await store.nodes.heartbeat(0, 'a', t0 + TTL), true);
      assert.equal(await store.nodes.lease('b', TTL, t0 + TTL + 1), 1);
      assert.equal(await store.nodes.heartbeat(0, 'b', t0 + TTL + 2), false, 'only the holder heartbeats');
    });

    test('all 1024 ids held is store_node_ids_exhausted, until one expires', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const now = Date.now();
      const rows = range(MAX_NODE_ID + 1).map((id) => ({
        node_id: id,
        instance_id: `held-${id}`,
        hostname: null,
        pid: null,
        started_at: now,
        heartbeat_at: now,
      }));
      await store.db.insertInto('nodes').values(rows).execute();
      await assert.rejects(store.nodes.lease('late', TTL, now), hasCode('store_node_ids_exhausted'));
      await store.db
        .updateTable('nodes')
        .set({ heartbeat_at: now - TTL - 1 })
        .where('node_id', '=', 700)
        .execute();
      assert.equal(await store.nodes.lease('late', TTL, now), 700);
    });

    test('bad arguments are store_record_invalid', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      await assert.rejects(store.nodes.lease('', TTL), hasCode('store_record_invalid'));
      await assert.rejects(store.nodes.lease('a', 0), hasCode('store_record_invalid'));
      await assert.rejects(store.nodes.lease('a', 1.5), hasCode('store_record_invalid'));
    });

    test('the database refuses node ids outside 0..1023 even from outside the repository', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const row = { instance_id: 'x', hostname: null, pid: null, started_at: 1, heartbeat_at: 1 };
      await assert.rejects(
        store.db
          .insertInto('nodes')
          .values({ ...row, node_id: 1024 })
          .execute(),
      );
      await assert.rejects(
        store.db
          .insertInto('nodes')
          .values({ ...row, node_id: -1 })
          .execute(),
      );
    });
  });
}
