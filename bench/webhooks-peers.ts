/**
 * The in-process peers of `npm run bench -- webhooks` and where their databases live.
 *
 *   store-send  `store.webhooks.messages.send` in a loop: the very transaction the admin API commits
 *               for a message (message row, event row, one delivery per endpoint), without HTTP,
 *               authentication, schema validation or the audit record. Store opened as the gateway
 *               opens it (pool of 10 on PostgreSQL; SQLite WAL at the same `synchronous`).
 *   raw         the floor: one autocommit `INSERT INTO webhook_messages` per message (node:sqlite
 *               directly, one at a time since it is synchronous; `pg.Pool` of `connections`).
 *
 * Both run against a fresh database of the same kind as the gateway's that no gateway has open, so
 * no delivery worker touches their rows. PostgreSQL gets fresh databases
 * (`junction_bench_wh_<run>_<label>`), dropped at the end, as bench/events.ts does.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createHistogram, performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { Snowflake } from '../src/core/ids.ts';
import { openStore, type Store } from '../src/store/open.ts';
import type { LoadResult } from './lib/load.ts';

export type StoreKind = 'sqlite' | 'postgres';
export type Sync = 'FULL' | 'NORMAL';
/** The harness's Snowflake node id: the gateway leases the lowest free one, so ids never collide. */
const HARNESS_NODE = 1023;

export interface Site {
  kind: StoreKind;
  /** A new, empty database for `label`. */
  fresh(label: string): Promise<string>;
  cleanup(): Promise<void>;
}

export function sqliteSite(tmp: string): Site {
  return {
    kind: 'sqlite',
    fresh: async (label) => `sqlite:${path.join(tmp, `${label}.db`)}`,
    cleanup: async () => {},
  };
}

export async function postgresSite(baseUrl: string, runId: string): Promise<Site> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  const created: string[] = [];
  return {
    kind: 'postgres',
    async fresh(label) {
      const name = `junction_bench_wh_${runId}_${label.replace(/[^a-z0-9_]/g, '_')}`;
      await admin.query(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async cleanup() {
      for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export function openFor(kind: StoreKind, url: string, sync: Sync, poolMax = 10): Promise<Store> {
  return openStore({ url, env: {}, poolMax, ...(kind === 'sqlite' ? { synchronous: sync } : {}) });
}

/** A loop of `concurrency` async workers calling `op` until `durationS` passed: rate and latency. */
async function loop(concurrency: number, durationS: number, op: (n: number) => Promise<void>) {
  const histogram = createHistogram();
  let n = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          await op(n++);
          histogram.record(Math.max(1, Math.round((performance.now() - t) * 1e6)));
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    requests: histogram.count,
    rps: histogram.count / elapsed,
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    errors,
    non2xx: 0,
  } satisfies LoadResult;
}

/** The payload text the load generator sends (same shape and size), stamped now. */
function payloadText(prefix: string, seq: number): string {
  return JSON.stringify({
    seq,
    sent_at: Date.now(),
    id: `ord_${prefix}_${seq}`,
    customer: { id: 'cus_NffrFeUfNV2Hib', email: 'jenny.rosen@example.com', name: 'Jenny Rosen' },
    lines: [
      { sku: 'sku_tshirt_m_blue', quantity: 2, unit_amount: 1500 },
      { sku: 'sku_mug_white', quantity: 1, unit_amount: 900 },
    ],
    currency: 'eur',
    total: 3900,
    shipping: { method: 'standard', address: { city: 'Lyon', postal_code: '69002', country: 'FR' } },
  });
}

/** Migrates the reference database and gives it one application with `endpoints` endpoints. */
export async function prepareReference(
  kind: StoreKind,
  url: string,
  sync: Sync,
  endpoints: number,
  receiverUrl: string,
): Promise<string> {
  const store = await openFor(kind, url, sync, 1);
  try {
    await store.migrate();
    const ids = new Snowflake({ nodeId: HARNESS_NODE });
    const now = Date.now();
    const app = await store.webhooks.apps.create({ id: ids.next('app'), tenant: '', name: 'Bench', now });
    for (let i = 0; i < endpoints; i++) {
      await store.webhooks.endpoints.create({
        id: ids.next('ep'),
        appId: app!.id,
        url: `${receiverUrl}/ep/${i}`,
        secret: `whsec_${randomBytes(32).toString('base64')}`,
        now,
      });
    }
    return app!.id;
  } finally {
    await store.close();
  }
}

export async function storeSendLoop(
  kind: StoreKind,
  url: string,
  sync: Sync,
  appId: string,
  eventType: string,
  connections: number,
  durationS: number,
  prefix: string,
): Promise<LoadResult> {
  const store = await openFor(kind, url, sync);
  const ids = new Snowflake({ nodeId: HARNESS_NODE });
  try {
    return await loop(connections, durationS, async (n) => {
      const r = await store.webhooks.messages.send(
        { appId, eventType, payload: payloadText(prefix, n), schemaVersion: 1 },
        ids,
        Date.now(),
      );
      if ('appGone' in r || r.duplicate) throw new Error('the reference send stored nothing');
    });
  } finally {
    await store.close();
  }
}

/** One autocommit INSERT of the message row per message: the floor of a durable write. */
export async function rawLoop(
  kind: StoreKind,
  url: string,
  sync: Sync,
  appId: string,
  eventType: string,
  connections: number,
  durationS: number,
  prefix: string,
): Promise<LoadResult> {
  const ids = new Snowflake({ nodeId: HARNESS_NODE });
  const row = (n: number) => {
    const id = ids.next('msg');
    return [id, appId, eventType, payloadText(prefix, n), 1, `evt_${id.slice(4)}`, Date.now()] as const;
  };
  const sql =
    'INSERT INTO webhook_messages (id, app_id, event_type, payload, schema_version, queue_event_id, created_at) VALUES ' +
    (kind === 'sqlite' ? '(?, ?, ?, ?, ?, ?, ?)' : '($1, $2, $3, $4, $5, $6, $7)');
  if (kind === 'sqlite') {
    // node:sqlite is synchronous: one statement at a time whatever the concurrency, as in the gateway.
    const db = new DatabaseSync(url.slice('sqlite:'.length));
    db.exec(`PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=${sync}`);
    const insert = db.prepare(sql);
    try {
      return await loop(1, durationS, async (n) => {
        insert.run(...row(n));
        // Let timers run now and then; costs nothing measurable.
        if (n % 256 === 0) await new Promise((r) => setImmediate(r));
      });
    } finally {
      db.close();
    }
  }
  const pool = new pg.Pool({ connectionString: url, max: connections });
  try {
    return await loop(connections, durationS, async (n) => {
      await pool.query(sql, [...row(n)]);
    });
  } finally {
    await pool.end();
  }
}
