import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, type TestContext, test } from 'node:test';
import { Registry } from 'prom-client';
import type { AuditEntry } from '../core/audit.ts';
import { Snowflake } from '../core/ids.ts';
import { createLogger } from '../core/logger.ts';
import type { AuditLogRepository, Store } from '../store/index.ts';
import { sqliteTarget, targets } from '../store/testing.ts';
import { type AuditSinkSettings, StoreAuditSink } from './sink.ts';
import { verifyChain } from './verify.ts';

type Repo = Pick<AuditLogRepository, 'append' | 'storedIds'>;

function harness(
  t: TestContext,
  repository: Repo,
  options: { settings?: Partial<AuditSinkSettings>; nodeId?: number } = {},
) {
  const lines: Record<string, unknown>[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
  });
  const registry = new Registry();
  const ids = new Snowflake({ nodeId: options.nodeId ?? 1 });
  const settings = { log: false, maxQueue: 10_000, ...options.settings };
  const sink = new StoreAuditSink({
    repository,
    ids: () => ids,
    logger: createLogger({ level: 'info', destination }),
    registry,
    settings: () => settings,
    retry: { initialMs: 5, maxMs: 20 },
  });
  t.after(() => sink.close(100));
  const metric = async (name: string) =>
    Object.fromEntries(
      (await registry.getSingleMetric(name)!.get()).values.map((v) => [JSON.stringify(v.labels), v.value]),
    );
  return { sink, lines, metric, settings };
}

const entry = (i: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  action: 'auth.deny',
  outcome: 'deny',
  actor: { kind: 'api-key', id: `jk_${i}` },
  resource: `/orders/${i}`,
  reason: 'scope_missing',
  ...extra,
});

/** A repository whose appends wait for `open()`, counting transactions. */
function gated(store: Store) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const calls = { append: 0, storedIds: 0 };
  const repo: Repo = {
    append: async (records, link) => {
      calls.append++;
      await gate;
      return store.auditLog.append(records, link);
    },
    storedIds: (ids) => {
      calls.storedIds++;
      return store.auditLog.storedIds(ids);
    },
  };
  return { repo, open, calls };
}

for (const target of targets) {
  describe(`audit sink on ${target.dialect}`, () => {
    test('records of one burst are stored in few transactions; flush resolves once they are', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const { repo, open, calls } = gated(store);
      const { sink, metric } = harness(t, repo);
      for (let i = 0; i < 120; i++) assert.equal(sink.record(entry(i)), undefined);
      assert.equal(sink.queued, 120, 'record() only queues');
      let flushed = false;
      const flushing = sink.flush().then(() => {
        flushed = true;
      });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(flushed, false, 'flush waits for the store');
      open();
      await flushing;
      assert.equal(calls.append, 1, 'one burst, one transaction');
      const result = await verifyChain(store.auditLog);
      assert.equal(result.intact, true);
      assert.equal(result.records, 120);
      const newest = (await store.auditLog.list({ limit: 1 })).items[0]!;
      assert.equal(newest.resource, '/orders/119');
      assert.deepEqual(await metric('junction_audit_records_total'), {
        '{"action":"auth.deny","outcome":"deny"}': 120,
      });
      await sink.flush();
    });

    test('a failed append is retried, and a commit whose answer was lost is not stored twice', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      let failures = 0;
      const repo: Repo = {
        append: async (records, link) => {
          failures++;
          if (failures === 1) throw new Error('connection reset before commit');
          if (failures === 2) {
            await store.auditLog.append(records, link);
            throw new Error('connection reset after commit');
          }
          return store.auditLog.append(records, link);
        },
        storedIds: (ids) => store.auditLog.storedIds(ids),
      };
      const { sink, lines, metric } = harness(t, repo);
      for (let i = 0; i < 5; i++) sink.record(entry(i));
      await sink.flush();
      const result = await verifyChain(store.auditLog);
      assert.deepEqual([result.intact, result.records], [true, 5]);
      assert.deepEqual(await metric('junction_audit_write_errors_total'), { '{}': 2 });
      assert.equal(lines.filter((l) => l.msg === 'audit append failed; retrying').length, 2);
      sink.record(entry(5));
      await sink.flush();
      assert.equal((await verifyChain(store.auditLog)).records, 6);
    });

    test('a full queue drops new records, counts them, and records the gap once there is room', async (t) => {
      const store = await (await target.setup(t)).openMigrated();
      const { repo, open } = gated(store);
      const { sink, lines, metric } = harness(t, repo, { settings: { maxQueue: 5 } });
      for (let i = 0; i < 20; i++) sink.record(entry(i));
      assert.equal(sink.queued, 5);
      assert.deepEqual(await metric('junction_audit_dropped_total'), { '{"reason":"overflow"}': 15 });
      assert.equal(
        lines.filter((l) => l.msg === 'audit queue full; dropping records').length,
        1,
        'one line per episode',
      );
      open();
      await sink.flush();
      await sink.flush();
      const page = await store.auditLog.list({ limit: 10 });
      const notice = page.items[0]!;
      assert.equal(page.items.length, 6);
      assert.deepEqual(
        [notice.action, notice.outcome, notice.actorId, notice.reason],
        ['audit.dropped', 'failure', 'audit', 'records_dropped'],
      );
      assert.deepEqual(JSON.parse(notice.after!), { dropped: 15, overflow: 15 });
      assert.equal((await verifyChain(store.auditLog)).intact, true);
    });

    if (target.dialect === 'postgres') {
      test('4 gateways’ sinks on 4 stores, 50 records each at once: one intact chain', async (t) => {
        const site = await target.setup(t);
        await (await site.openMigrated()).close();
        const stores = await Promise.all([0, 1, 2, 3].map(() => site.open({ poolMax: 2 })));
        const sinks = stores.map((store, n) => harness(t, store.auditLog, { nodeId: 20 + n }).sink);
        // Interleaved, each record its own turn of the event loop: many small concurrent batches.
        for (let i = 0; i < 50; i++) {
          for (const sink of sinks) sink.record(entry(i));
          await new Promise((r) => setImmediate(r));
        }
        await Promise.all(sinks.map((s) => s.flush()));
        const result = await verifyChain(stores[0]!.auditLog, { pageSize: 64 });
        assert.deepEqual([result.intact, result.records], [true, 200]);
      });
    }
  });
}

describe('audit sink, whatever the store does', () => {
  test('record() never throws and refuses malformed entries, counting them', async (t) => {
    const store = await (await sqliteTarget.setup(t)).openMigrated();
    const { sink, lines, metric } = harness(t, store.auditLog);
    // biome-ignore lint/suspicious/noExplicitAny: callers outside TypeScript's reach.
    const anyEntry = (e: unknown) => sink.record(e as any);
    anyEntry(null);
    anyEntry({ action: 'x', outcome: 'perhaps' });
    anyEntry({ outcome: 'deny' });
    sink.record(entry(1, { after: { n: 10n } }));
    await sink.flush();
    assert.deepEqual(await metric('junction_audit_dropped_total'), { '{"reason":"invalid"}': 3 });
    assert.equal(lines.filter((l) => l.msg === 'audit entry refused').length, 3);
    const items = (await store.auditLog.list({ limit: 10 })).items;
    assert.deepEqual(
      items.map((r) => r.action),
      ['audit.dropped', 'auth.deny'],
      'the BigInt entry is stored, and a notice of the refused ones after it',
    );
    assert.deepEqual(JSON.parse(items[0]!.after!), { dropped: 3, invalid: 3 });
    assert.match(items[1]!.after!, /unserializable/);
  });

  test('with log: true, each stored record is also one `audit` log line with its seq and hash', async (t) => {
    const store = await (await sqliteTarget.setup(t)).openMigrated();
    const { sink, lines, settings } = harness(t, store.auditLog, { settings: { log: true } });
    sink.record(entry(1, { after: { roles: ['a'] } }));
    await sink.flush();
    const [line] = lines.filter((l) => l.msg === 'audit');
    const audit = line!.audit as Record<string, unknown>;
    const [stored] = (await store.auditLog.list({ limit: 1 })).items;
    assert.deepEqual(
      [audit.seq, audit.id, audit.hash, audit.action, audit.after],
      [1, stored!.id, stored!.hash, 'auth.deny', { roles: ['a'] }],
    );
    settings.log = false;
    sink.record(entry(2));
    await sink.flush();
    assert.equal(lines.filter((l) => l.msg === 'audit').length, 1, 'the setting is read live');
  });

  test('close() gives up on an unreachable store after its timeout and counts what was lost', async (t) => {
    const repo: Repo = {
      append: async () => {
        throw new Error('ECONNREFUSED');
      },
      storedIds: async () => {
        throw new Error('ECONNREFUSED');
      },
    };
    const { sink, lines, metric } = harness(t, repo);
    for (let i = 0; i < 3; i++) sink.record(entry(i));
    const started = Date.now();
    await sink.close(150);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(sink.queued, 0);
    await sink.flush();
    sink.record(entry(9));
    sink.record(entry(10));
    assert.deepEqual(await metric('junction_audit_dropped_total'), {
      '{"reason":"shutdown"}': 3,
      '{"reason":"closed"}': 2,
    });
    assert.ok(lines.some((l) => l.msg === 'audit records were not stored before shutdown' && l.lost === 3));
    assert.equal(
      lines.filter((l) => l.msg === 'audit record after the audit log closed; not stored').length,
      1,
    );
  });
});
