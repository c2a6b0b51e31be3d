/**
 * `npm run bench -- idempotency`: what core.idempotency costs on POST requests with a small JSON body.
 *
 * One Junction, one upstream, the default embedded store (a SQLite file, WAL, synchronous=NORMAL) and
 * three cases in alternating rounds:
 *   plain        POST through a route with no policies: the denominator;
 *   idem-no-key  the same POST through a route with core.idempotency, no Idempotency-Key: the
 *                pass-through cost (method check, header lookup);
 *   idem-key     the same with a unique Idempotency-Key on every request: the whole path, body
 *                buffered and hashed, lease taken and the response stored, two SQLite writes each.
 * Reported as ratios to plain. About 40 s with the defaults.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { Child } from './lib/children.ts';
import { ROOT, startJunction } from './lib/junction.ts';
import { combine, type LoadResult, type LoadSettings, pickLoadGenerator } from './lib/load.ts';
import { machineInfo, RESULTS_DIR, writeAtomic } from './lib/report.ts';

const USAGE = `npm run bench -- idempotency [--duration 4] [--rounds 2] [--warmup 2] [--connections 50]
                                 [--load wrk|autocannon]`;

const noDefaults = { 'core.access-log': false, 'core.metrics': false, 'core.tracing': false };

/** A small JSON body, as a payment-creating POST would carry. */
const BODY = JSON.stringify({ amount: 1999, currency: 'EUR', customer: 'cus_0000000001', capture: true });

const CASES = {
  plain: { route: 'plain', uniqueKey: false },
  'idem-no-key': { route: 'idem', uniqueKey: false },
  'idem-key': { route: 'idem', uniqueKey: true },
} as const;
type CaseName = keyof typeof CASES;

/** What a case sends: POST, the body, and a fresh key per request for idem-key. */
function requestOf(name: CaseName): Pick<LoadSettings, 'method' | 'body' | 'headers' | 'uniqueHeader'> {
  return {
    method: 'POST',
    body: BODY,
    headers: { 'content-type': 'application/json' },
    ...(CASES[name].uniqueKey ? { uniqueHeader: 'idempotency-key' } : {}),
  };
}

/** One request of the case, and for idem-key its retry, which must be a replay. */
async function check(origin: string, name: CaseName): Promise<void> {
  const url = `${origin}/${CASES[name].route}/x`;
  const key = CASES[name].uniqueKey ? `bench-check-${Date.now()}` : undefined;
  const send = () =>
    fetch(url, {
      method: 'POST',
      body: BODY,
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      signal: AbortSignal.timeout(5000),
    });
  const first = await send();
  const bytes = (await first.arrayBuffer()).byteLength;
  if (first.status !== 200 || bytes !== 1024)
    throw new Error(`POST ${url} answered ${first.status} with ${bytes} bytes`);
  if (key === undefined) return;
  const retry = await send();
  await retry.arrayBuffer();
  if (retry.status !== 200 || retry.headers.get('idempotent-replayed') !== 'true')
    throw new Error(`the retry of POST ${url} with the same key was not replayed (${retry.status})`);
}

/** Rows in the idempotency table and the size of the SQLite file with its WAL, once Junction is gone. */
async function storeFacts(dbFile: string) {
  const db = new DatabaseSync(dbFile, { readOnly: true });
  try {
    const row = db.prepare('SELECT count(*) AS n FROM idempotency_keys').get() as { n: number };
    const size = async (f: string) => (await stat(f).catch(() => ({ size: 0 }))).size;
    return { storedKeys: Number(row.n), dbBytes: (await size(dbFile)) + (await size(`${dbFile}-wal`)) };
  } finally {
    db.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      load: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [durationS, rounds, warmupS, connections] = [
    Number(values.duration),
    Number(values.rounds),
    Number(values.warmup),
    Number(values.connections),
  ];
  if (!(durationS >= 1 && rounds >= 1 && warmupS >= 0 && connections >= 1)) {
    console.error(`bad arguments\n${USAGE}`);
    return 2;
  }
  const load = pickLoadGenerator(values.load);
  const machine = machineInfo(); // before any load, so its load average is the machine's own
  const startedAt = new Date();
  console.log(
    `load: ${load.version}; ${connections} connections, ${warmupS} s warmup, ` +
      `${rounds} rounds of ${durationS} s per case; POST with a ${BODY.length}-byte JSON body`,
  );
  const busy = os.loadavg()[0]!;
  if (busy > 0.5)
    console.log(`note: 1-minute load average is ${busy.toFixed(2)} before starting: figures will be noisy`);

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-idem-'));
  const dbFile = path.join(tmp, 'junction.db');
  const upstream = new Child('upstream', process.execPath, ['bench/upstream.ts'], { cwd: ROOT });
  const names = Object.keys(CASES) as CaseName[];
  const runs: Record<CaseName, LoadResult[]> = { plain: [], 'idem-no-key': [], 'idem-key': [] };
  let keyedRequests = 0;
  let store: Awaited<ReturnType<typeof storeFacts>>;
  try {
    const origin = `http://127.0.0.1:${await upstream.port()}`;
    const junction = await startJunction({
      tmp,
      logLevel: 'warn',
      config: {
        // The default embedded store (a file, as ./data/junction.db would be), not :memory:.
        store: { url: `sqlite:${dbFile}` },
        upstreams: { bench: { targets: [origin], pool: { connections: 64 } } },
        routes: [
          {
            name: 'plain',
            match: { path: '/plain/*' },
            proxy: { upstream: 'bench', stripPrefix: '/plain' },
            policies: noDefaults,
          },
          {
            name: 'idem',
            match: { path: '/idem/*' },
            proxy: { upstream: 'bench', stripPrefix: '/idem' },
            // Defaults: POST and PATCH, key optional, scope by client IP, store: store.
            policies: { ...noDefaults, 'core.idempotency': {} },
          },
        ],
      },
    });
    try {
      for (const name of names) {
        await check(junction.proxyOrigin, name);
        const url = `${junction.proxyOrigin}/${CASES[name].route}/x`;
        if (warmupS > 0) {
          const r = await load.run(url, { connections, durationS: warmupS, ...requestOf(name) });
          if (CASES[name].uniqueKey) keyedRequests += r.requests;
        }
      }
      // Rounds alternate the cases, so a machine whose load drifts weighs on each alike.
      for (let round = 0; round < rounds; round++) {
        for (const name of names) {
          const url = `${junction.proxyOrigin}/${CASES[name].route}/x`;
          const r = await load.run(url, { connections, durationS, ...requestOf(name) });
          runs[name].push(r);
          if (CASES[name].uniqueKey) keyedRequests += r.requests;
          console.log(
            `${name.padEnd(12)} ${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, ` +
              `p99 ${r.p99Ms.toFixed(2)} ms, non-2xx ${r.non2xx}, errors ${r.errors}`,
          );
        }
      }
    } finally {
      await junction.child.stop();
    }
    store = await storeFacts(dbFile);
  } finally {
    await upstream.stop();
    await rm(tmp, { recursive: true, force: true });
  }

  const results = Object.fromEntries(names.map((n) => [n, combine(runs[n])])) as Record<CaseName, LoadResult>;
  const ratio = (n: CaseName) => Number((results[n].rps / results.plain.rps).toFixed(3));
  const ratios = { 'idem-no-key': ratio('idem-no-key'), 'idem-key': ratio('idem-key') };
  const failed = names.some((n) => results[n].non2xx > 0 || results[n].errors > 0);
  console.log(
    `\nidempotency route / plain route (POST): without a key ${ratios['idem-no-key']}, ` +
      `with a unique key ${ratios['idem-key']}`,
  );
  console.log(
    `store: ${store.storedKeys} keys stored for ${keyedRequests} keyed requests answered ` +
      `(+1 check), SQLite file and WAL ${(store.dbBytes / 1e6).toFixed(1)} MB`,
  );
  if (failed) console.log('some responses were not 2xx or failed: the figures are not trustworthy');
  const report = {
    kind: 'idempotency',
    startedAt: startedAt.toISOString(),
    machine,
    loadAverage1mAtEnd: os.loadavg()[0],
    loadGenerator: { name: load.name, version: load.version },
    settings: { connections, durationS, warmupS, rounds, body: BODY, store: 'sqlite file (WAL, NORMAL)' },
    results,
    runs,
    ratios,
    store: { ...store, keyedRequests },
  };
  await writeAtomic(
    path.join(RESULTS_DIR, 'idempotency-latest.json'),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  console.log('wrote bench/results/idempotency-latest.json');
  return failed ? 1 : 0;
}
