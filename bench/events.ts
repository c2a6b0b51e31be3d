/**
 * `npm run bench -- events`: what the event hub sustains (issue #6), on SQLite and on PostgreSQL.
 *
 *   ingest         POST /hooks/stripe with Stripe-signed webhooks, a new event id on every request,
 *                  one subscription (enabled: false: every event queues one delivery, nothing is sent).
 *                  A 202 means the event and its delivery are committed (SQLite synchronous=FULL, as
 *                  `junction start` opens it when the config has a source; PostgreSQL
 *                  synchronous_commit on). Load from bench/events-load.ts in its own process.
 *   ingest-no-sub  the same through a second source no subscription matches: the event row alone.
 *   append         the reference: `store.events.append` of the same event and one delivery (one
 *                  transaction each), `connections` in flight, from this process.
 *   raw            the floor: a single-row INSERT of the event row, autocommit, in a loop (node:sqlite
 *                  directly, one at a time as it is synchronous; pg with a pool of `connections`).
 *   forward        deliveries/s from the queue to a local HTTP receiver answering 204: N events
 *                  preloaded with an enabled subscription, the gateway started, and the time from the
 *                  receiver's first request until junction_deliveries_total{outcome="delivered"} is N
 *                  (or --forward-max-s passed), at each worker concurrency.
 *
 * The four ingest cases alternate round by round; the gateway's database and the references' are two
 * fresh databases of the same kind, so the gateway's worker (which claims and postpones each delivery
 * of a disabled subscription once every 30 s) never touches the reference rows. PostgreSQL runs use
 * fresh databases (`junction_bench_<run>_…`), dropped at the end; SQLite files live in a temp dir.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createHistogram, performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Snowflake } from '../src/core/ids.ts';
import { openStore, type Store } from '../src/store/open.ts';
import type { DeliveriesTable, EventsTable } from '../src/store/schema.ts';
import { runToEnd } from './lib/children.ts';
import { ROOT, type RunningJunction, startJunction } from './lib/junction.ts';
import { combine, type LoadResult } from './lib/load.ts';
import { machineInfo, RESULTS_DIR, writeAtomic } from './lib/report.ts';
import { STORED_HEADERS, stripeEvent } from './lib/stripe.ts';

const USAGE = `npm run bench -- events [--duration 4] [--rounds 2] [--warmup 2] [--connections 32]
                            [--forward-events 5000] [--forward-max-s 15] [--forward-concurrency 16,64]
                            [--stores sqlite,postgres] [--pg-url postgres://postgres@127.0.0.1:5432/test]`;

const SECRET = 'whsec_bench_events_0123456789abcdef';
const SOURCE = 'stripe';
/** A second Stripe source no subscription matches: its events are stored without a delivery. */
const BARE_SOURCE = 'bare';
const TYPE = 'charge.succeeded';
/** The harness's Snowflake node id: the gateway leases the lowest free one, so ids never collide. */
const HARNESS_NODE = 1023;

type StoreKind = 'sqlite' | 'postgres';
type IngestCase = 'ingest' | 'ingest-no-sub' | 'append' | 'raw';
const CASES: IngestCase[] = ['ingest', 'ingest-no-sub', 'append', 'raw'];

interface ForwardResult {
  concurrency: number;
  /** Preloaded. */
  events: number;
  /** Counted delivered by the gateway when the measurement stopped (all, or --forward-max-s passed). */
  delivered: number;
  complete: boolean;
  seconds: number;
  deliveriesPerS: number;
  /** Requests the receiver got: more than `events` would be redeliveries. */
  received: number;
  doneInStore: number;
  preloadS: number;
}

/** Where a store kind lives: SQLite files in the temp dir, PostgreSQL fresh databases. */
interface Site {
  kind: StoreKind;
  /** A new, empty database for `label`. */
  fresh(label: string): Promise<string>;
  cleanup(): Promise<void>;
}

function sqliteSite(tmp: string): Site {
  return {
    kind: 'sqlite',
    fresh: async (label) => `sqlite:${path.join(tmp, `${label}.db`)}`,
    cleanup: async () => {},
  };
}

async function postgresSite(baseUrl: string, runId: string): Promise<Site> {
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  const created: string[] = [];
  return {
    kind: 'postgres',
    async fresh(label) {
      const name = `junction_bench_${runId}_${label.replace(/[^a-z0-9_]/g, '_')}`;
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

function openFor(kind: StoreKind, url: string, poolMax: number): Promise<Store> {
  return openStore({ url, env: {}, poolMax, ...(kind === 'sqlite' ? { synchronous: 'FULL' as const } : {}) });
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

/** `store.events.append` of the same event shape the gateway stores, one delivery each. */
async function appendLoop(
  kind: StoreKind,
  url: string,
  connections: number,
  durationS: number,
  prefix: string,
) {
  // The gateway's pool is the store default (10); the reference gets the same.
  const store = await openFor(kind, url, 10);
  const ids = new Snowflake({ nodeId: HARNESS_NODE });
  const createdS = Math.floor(Date.now() / 1000);
  try {
    return await loop(connections, durationS, async (n) => {
      const body = stripeEvent(prefix, n, createdS);
      await store.events.append(
        {
          source: SOURCE,
          type: TYPE,
          externalId: `evt_${prefix}_${n}`,
          payload: body,
          headers: STORED_HEADERS,
        },
        ['ledger'],
        ids,
      );
    });
  } finally {
    await store.close();
  }
}

/** One INSERT of the event row per statement, autocommit: the floor of a durable write. */
async function rawLoop(kind: StoreKind, url: string, connections: number, durationS: number, prefix: string) {
  const ids = new Snowflake({ nodeId: HARNESS_NODE });
  const createdS = Math.floor(Date.now() / 1000);
  const headers = JSON.stringify(STORED_HEADERS);
  const row = (n: number) => {
    const id = ids.next('evt');
    return [
      id,
      SOURCE,
      TYPE,
      `evt_${prefix}_${n}`,
      Date.now(),
      Buffer.from(stripeEvent(prefix, n, createdS)),
      headers,
    ];
  };
  const sql =
    'INSERT INTO events (id, source, type, external_id, received_at, payload, headers) VALUES ' +
    (kind === 'sqlite' ? '(?, ?, ?, ?, ?, ?, ?)' : '($1, $2, $3, $4, $5, $6, $7)');
  if (kind === 'sqlite') {
    // node:sqlite is synchronous: one statement at a time whatever the concurrency, as in the gateway.
    const db = new DatabaseSync(url.slice('sqlite:'.length));
    db.exec('PRAGMA busy_timeout=5000; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL');
    const insert = db.prepare(sql);
    try {
      return await loop(1, durationS, async (n) => {
        insert.run(...(row(n) as [string, string, string, string, number, Buffer, string]));
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
      await pool.query(sql, row(n));
    });
  } finally {
    await pool.end();
  }
}

/** One `name{…labels…} value` sample of the Prometheus text, summed over lines matching all labels. */
function metric(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** CPU ms (user + system) a process has used so far, from /proc (Linux; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return 0;
  }
}

async function metrics(junction: RunningJunction): Promise<string> {
  const res = await fetch(`${junction.adminOrigin}/metrics`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

function ingestConfig(url: string): Record<string, unknown> {
  return {
    store: { url },
    events: {
      sources: {
        [SOURCE]: { verify: { provider: 'stripe', secrets: [SECRET] } },
        [BARE_SOURCE]: { verify: { provider: 'stripe', secrets: [SECRET] } },
      },
      subscriptions: {
        ledger: {
          sources: [SOURCE],
          destination: { type: 'http', url: 'http://127.0.0.1:9/ledger' },
          enabled: false,
        },
      },
    },
  };
}

async function ingestRun(
  origin: string,
  source: string,
  connections: number,
  durationS: number,
  prefix: string,
) {
  const out = await runToEnd('events-load', process.execPath, [
    path.join(ROOT, 'bench/events-load.ts'),
    '--url',
    `${origin}/hooks/${source}`,
    '--secret',
    SECRET,
    '--connections',
    String(connections),
    '--duration',
    String(durationS),
    '--prefix',
    prefix,
  ]);
  return JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult & {
    statuses: Record<string, number>;
    bodyBytes: number;
    signUs: number;
  };
}

interface StoreIngest {
  runs: Record<IngestCase, LoadResult[]>;
  results: Record<IngestCase, LoadResult>;
  ratios: Record<
    'ingest/append' | 'ingest-no-sub/raw' | 'ingest/raw' | 'append/raw' | 'ingest/ingest-no-sub',
    number
  >;
  gateway: { stored: number; duplicates: number; rejected: number; postponed: number };
  statuses: Record<string, number>;
  signUs: number;
  bodyBytes: number;
}

async function benchIngest(
  site: Site,
  tmp: string,
  o: { connections: number; durationS: number; rounds: number; warmupS: number; runId: string },
): Promise<StoreIngest> {
  const url = await site.fresh('ingest');
  // The reference loops write to a database of their own that no gateway has open, so its worker
  // (which claims and postpones each delivery of a disabled subscription once) does not touch them.
  const refUrl = await site.fresh('ref');
  const ref = await openFor(site.kind, refUrl, 1);
  await ref.migrate();
  await ref.close();
  const runs: Record<IngestCase, LoadResult[]> = { ingest: [], 'ingest-no-sub': [], append: [], raw: [] };
  const statuses: Record<string, number> = {};
  let signUs = 0;
  let bodyBytes = 0;
  let gateway: StoreIngest['gateway'];
  const dir = await mkdtemp(path.join(tmp, `${site.kind}-ingest-`));
  const junction = await startJunction({ tmp: dir, logLevel: 'warn', config: ingestConfig(url) });
  try {
    const measure = async (
      name: IngestCase,
      durationS: number,
      prefix: string,
    ): Promise<LoadResult & { gatewayCpuMsPerEvent?: number }> => {
      if (name === 'append') return appendLoop(site.kind, refUrl, o.connections, durationS, prefix);
      if (name === 'raw') return rawLoop(site.kind, refUrl, o.connections, durationS, prefix);
      const source = name === 'ingest' ? SOURCE : BARE_SOURCE;
      const cpuBefore = cpuMs(junction.child.pid);
      const r = await ingestRun(junction.proxyOrigin, source, o.connections, durationS, prefix);
      // The gateway's CPU per acknowledged event: near 1000 ms per s of run means it was CPU-bound.
      const gatewayCpuMsPerEvent = Number(((cpuMs(junction.child.pid) - cpuBefore) / r.requests).toFixed(3));
      for (const [s, c] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + c;
      signUs = r.signUs;
      bodyBytes = r.bodyBytes;
      return { ...r, gatewayCpuMsPerEvent };
    };
    // Warmup: JIT, pools, the first pages of each table; half the time each, discarded.
    if (o.warmupS > 0) for (const name of CASES) await measure(name, o.warmupS / 2, `${o.runId}w${name}`);
    // Rounds alternate the cases, so a machine whose load drifts weighs on each alike.
    for (let round = 0; round < o.rounds; round++) {
      for (const name of CASES) {
        const r = await measure(name, o.durationS, `${o.runId}r${round}${name}`);
        runs[name].push(r);
        console.log(
          `  ${site.kind.padEnd(8)} ${name.padEnd(13)} ${r.rps.toFixed(0).padStart(6)}/s, ` +
            `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${r.errors}, non-2xx ${r.non2xx}` +
            (r.gatewayCpuMsPerEvent === undefined ? '' : `, gateway CPU ${r.gatewayCpuMsPerEvent} ms/event`),
        );
      }
    }
    const text = await metrics(junction);
    gateway = {
      stored: metric(text, 'junction_events_received_total', { result: 'stored' }),
      duplicates: metric(text, 'junction_events_received_total', { result: 'duplicate' }),
      rejected: metric(text, 'junction_events_received_total', { result: 'rejected' }),
      postponed: metric(text, 'junction_deliveries_total', { outcome: 'postponed' }),
    };
  } finally {
    await junction.child.stop();
  }
  const results = Object.fromEntries(CASES.map((n) => [n, combine(runs[n])])) as Record<
    IngestCase,
    LoadResult
  >;
  const r3 = (a: number, b: number) => Number((a / b).toFixed(3));
  return {
    runs,
    results,
    ratios: {
      'ingest/append': r3(results.ingest.rps, results.append.rps),
      'ingest-no-sub/raw': r3(results['ingest-no-sub'].rps, results.raw.rps),
      'ingest/raw': r3(results.ingest.rps, results.raw.rps),
      'append/raw': r3(results.append.rps, results.raw.rps),
      'ingest/ingest-no-sub': r3(results.ingest.rps, results['ingest-no-sub'].rps),
    },
    gateway,
    statuses,
    signUs,
    bodyBytes,
  };
}

/** Writes `count` events with one pending delivery each for `subscription`, 500 per transaction. */
async function preload(kind: StoreKind, url: string, count: number, subscription: string, prefix: string) {
  const store = await openFor(kind, url, 10);
  try {
    await store.migrate();
    const ids = new Snowflake({ nodeId: HARNESS_NODE });
    const createdS = Math.floor(Date.now() / 1000);
    const headers = JSON.stringify(STORED_HEADERS);
    for (let i = 0; i < count; i += 500) {
      const events: EventsTable[] = [];
      const deliveries: DeliveriesTable[] = [];
      for (let n = i; n < Math.min(count, i + 500); n++) {
        const id = ids.next('evt');
        const at = Date.now();
        events.push({
          id,
          source: SOURCE,
          type: TYPE,
          external_id: `evt_${prefix}_${n}`,
          received_at: at,
          payload: Buffer.from(stripeEvent(prefix, n, createdS)),
          headers,
        });
        deliveries.push({
          id: ids.next('dlv'),
          event_id: id,
          subscription,
          status: 'pending',
          attempts: 0,
          next_attempt_at: at,
          lease_owner: null,
          lease_expires_at: null,
          last_error: null,
          last_status: null,
          created_at: at,
          updated_at: at,
        });
      }
      await store.db.transaction().execute(async (trx) => {
        // 7 columns × 500 and 12 × 500 stay under both dialects' bound-parameter limits.
        await trx.insertInto('events').values(events).execute();
        await trx.insertInto('deliveries').values(deliveries).execute();
      });
    }
  } finally {
    await store.close();
  }
}

async function countDone(kind: StoreKind, url: string): Promise<number> {
  const store = await openFor(kind, url, 1);
  try {
    const row = await store.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('status', '=', 'done')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  } finally {
    await store.close();
  }
}

/** A receiver answering every POST with 204, counting requests and noting when the first came. */
async function startReceiver() {
  let count = 0;
  let first = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (count++ === 0) first = performance.now();
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/events`,
    count: () => count,
    first: () => first,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function benchForward(
  site: Site,
  tmp: string,
  concurrency: number,
  events: number,
  maxS: number,
  runId: string,
): Promise<ForwardResult> {
  const url = await site.fresh(`fwd${concurrency}`);
  const t0 = performance.now();
  await preload(site.kind, url, events, 'fwd', `${runId}f${concurrency}`);
  const preloadS = (performance.now() - t0) / 1000;
  const receiver = await startReceiver();
  const dir = await mkdtemp(path.join(tmp, `${site.kind}-fwd-`));
  let seconds: number;
  let delivered = 0;
  try {
    const config = ingestConfig(url);
    (config.events as Record<string, unknown>).subscriptions = {
      fwd: {
        destination: {
          type: 'http',
          url: receiver.url,
          allowPrivateNetworks: true,
          connections: concurrency,
        },
      },
    };
    (config.events as Record<string, unknown>).worker = { concurrency };
    const junction = await startJunction({ tmp: dir, logLevel: 'warn', config, readyTimeoutMs: 60_000 });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        delivered = metric(await metrics(junction), 'junction_deliveries_total', { outcome: 'delivered' });
        if (delivered >= events) break;
        const first = receiver.first();
        if (first > 0 && performance.now() - first > maxS * 1000) break;
        if (first === 0 && Date.now() > deadline) throw new Error('the receiver got nothing within 60 s');
        await sleep(100);
      }
      seconds = (performance.now() - receiver.first()) / 1000;
    } finally {
      await junction.child.stop();
    }
  } finally {
    await receiver.close();
  }
  const doneInStore = await countDone(site.kind, url);
  return {
    concurrency,
    events,
    delivered,
    complete: delivered >= events,
    seconds: Number(seconds.toFixed(3)),
    deliveriesPerS: Number((delivered / seconds).toFixed(1)),
    received: receiver.count(),
    doneInStore,
    preloadS: Number(preloadS.toFixed(2)),
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '32' },
      'forward-events': { type: 'string', default: '5000' },
      'forward-max-s': { type: 'string', default: '15' },
      'forward-concurrency': { type: 'string', default: '16,64' },
      stores: { type: 'string', default: 'sqlite,postgres' },
      'pg-url': {
        type: 'string',
        default: process.env.JUNCTION_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const durationS = Number(values.duration);
  const rounds = Number(values.rounds);
  const warmupS = Number(values.warmup);
  const connections = Number(values.connections);
  const forwardEvents = Number(values['forward-events']);
  const forwardMaxS = Number(values['forward-max-s']);
  const forwardConcurrency = values['forward-concurrency'].split(',').filter(Boolean).map(Number);
  const stores = values.stores.split(',').filter(Boolean) as StoreKind[];
  if (
    !(
      durationS >= 1 &&
      rounds >= 1 &&
      warmupS >= 0 &&
      connections >= 1 &&
      forwardEvents >= 0 &&
      forwardMaxS > 0
    ) ||
    forwardConcurrency.some((c) => !(c >= 1 && c <= 1000)) ||
    stores.some((s) => s !== 'sqlite' && s !== 'postgres')
  ) {
    console.error(`bad arguments\n${USAGE}`);
    return 2;
  }
  const machine = machineInfo(); // before any load, so its load average is the machine's own
  const startedAt = new Date();
  const loadStart = os.loadavg();
  console.log(
    `events: ${connections} connections, ${warmupS} s warmup, ${rounds} rounds of ${durationS} s per case; ` +
      `forwarding ${forwardEvents} events at concurrency ${forwardConcurrency.join(', ')}; ` +
      `load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}`,
  );
  if (loadStart[0]! > 0.5) console.log('note: the machine is not idle: figures will be noisy');

  const runId = randomBytes(4).toString('hex');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-events-'));
  const report: Record<string, unknown> = {};
  let failed = false;
  try {
    for (const kind of stores) {
      let site: Site;
      try {
        site = kind === 'sqlite' ? sqliteSite(tmp) : await postgresSite(values['pg-url'], runId);
      } catch (err) {
        console.log(`${kind}: skipped: ${(err as Error).message}`);
        report[kind] = { status: 'skipped', reason: (err as Error).message };
        continue;
      }
      try {
        console.log(`\n${kind}: ingest, append and raw in alternating rounds`);
        const ingest = await benchIngest(site, tmp, { connections, durationS, rounds, warmupS, runId });
        const forward: ForwardResult[] = [];
        for (const c of forwardEvents > 0 ? forwardConcurrency : []) {
          const f = await benchForward(site, tmp, c, forwardEvents, forwardMaxS, runId);
          console.log(
            `  ${kind.padEnd(8)} forward concurrency ${c}: ${f.delivered} of ${f.events} in ${f.seconds.toFixed(2)} s = ` +
              `${f.deliveriesPerS.toFixed(0)} deliveries/s (receiver got ${f.received}, ${f.doneInStore} done in the store)`,
          );
          forward.push(f);
          if (f.doneInStore < f.delivered) failed = true;
        }
        if (ingest.results.ingest.non2xx > 0 || ingest.results.ingest.errors > 0) failed = true;
        if ((ingest.statuses['200'] ?? 0) > 0) failed = true; // a duplicate: the ids were not unique
        report[kind] = { status: 'ok', ...ingest, forward };
      } finally {
        await site.cleanup();
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  console.log('\nsummary (events/s; ratios of means):');
  for (const kind of stores) {
    const r = report[kind] as
      | (StoreIngest & { status: 'ok'; forward: ForwardResult[] })
      | { status: 'skipped' };
    if (r.status !== 'ok') continue;
    const { ingest, append, raw } = r.results;
    console.log(
      `  ${kind}: ingest ${ingest.rps.toFixed(0)}/s (p50 ${ingest.p50Ms.toFixed(1)} ms, p99 ${ingest.p99Ms.toFixed(1)} ms), ` +
        `no-sub ${r.results['ingest-no-sub'].rps.toFixed(0)}/s, append ${append.rps.toFixed(0)}/s, ` +
        `raw INSERT ${raw.rps.toFixed(0)}/s; ingest/append ${r.ratios['ingest/append']}, ` +
        `ingest-no-sub/raw ${r.ratios['ingest-no-sub/raw']}, ingest/raw ${r.ratios['ingest/raw']}; ` +
        `forward ${r.forward.map((f) => `c${f.concurrency} ${f.deliveriesPerS.toFixed(0)}/s`).join(', ')}; ` +
        `gateway stored ${r.gateway.stored}, duplicates ${r.gateway.duplicates}, postponed ${r.gateway.postponed}`,
    );
  }
  console.log('  (outside reference, not measured: graphile-worker reports ~15k jobs/s on large hardware)');
  if (failed)
    console.log('some requests failed, were duplicates, or deliveries were not all done: check the figures');
  const loadEnd = os.loadavg();
  await writeAtomic(
    path.join(RESULTS_DIR, 'events-latest.json'),
    `${JSON.stringify(
      {
        kind: 'events',
        startedAt: startedAt.toISOString(),
        machine,
        loadAverageAtStart: loadStart,
        loadAverageAtEnd: loadEnd,
        loadGenerator: { name: 'bench/events-load.ts (undici Pool, Node)', node: process.version },
        settings: {
          connections,
          durationS,
          warmupS,
          rounds,
          forwardEvents,
          forwardMaxS,
          forwardConcurrency,
          stores,
        },
        ...report,
      },
      null,
      2,
    )}\n`,
  );
  console.log('wrote bench/results/events-latest.json');
  return failed ? 1 : 0;
}
