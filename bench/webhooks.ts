/**
 * `npm run bench -- webhooks`: what outbound webhooks sustain (issue #7 "Benchmark"), on SQLite and
 * on PostgreSQL. One gateway per store (started as an operator does), one application with
 * `--endpoints` endpoints on a local receiver (bench/webhooks-receiver.ts, its own process), the load
 * from bench/webhooks-load.ts (its own process). Phases, in this order:
 *
 *   accept   `--connections` senders POST messages through the admin API; 202 = the message and its
 *            fan-out are committed (SQLite `synchronous=FULL` by default, see --sqlite-sync;
 *            PostgreSQL `synchronous_commit` on). The receiver holds the first deliveries unanswered,
 *            so the worker's slots are full and it claims nothing: sending is measured alone.
 *            Alternated round by round with the peers `store-send` (`store.webhooks.messages.send`,
 *            the same transaction without the HTTP API) and `raw` (one INSERT of the message row),
 *            bench/webhooks-peers.ts.
 *   drain    the receiver answers again; the backlog the accept phase queued is delivered: deliveries/s
 *            from the release to the last arrival, nothing being sent meanwhile.
 *   deliver  `--batch` messages sent as fast as the senders go while the worker delivers:
 *            deliveries/s from the batch's first arrival to its last, and accept (the 202) → first
 *            attempt (the receiver's arrival time), p50/p99.
 *   latency  messages paced at `--latency-rate`/s for `--latency-s` s, a load the worker keeps up
 *            with: accept → first attempt p50/p99 without a queue in front of it.
 *   limited  `--limited-batch` messages queued for one endpoint with `max_concurrency: 1`, released and
 *            drained, against the same backlog to an endpoint without a limit (its peer): what the
 *            limit costs, and how often a delivery was claimed only to be held for it (holds per delivery).
 *   direct   the delivery peer: a plain undici POST loop straight to the receiver, at the worker's
 *            concurrency, as many requests as the batch had deliveries.
 *
 * Clocks: the load generator stamps `sent_at` into each payload and notes each 202's arrival; the
 * receiver notes each delivery's; all are `performance.timeOrigin + performance.now()` on one machine.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Child } from './lib/children.ts';
import { ROOT } from './lib/junction.ts';
import { machineInfo, RESULTS_DIR, writeAtomic } from './lib/report.ts';
import { postgresSite, type Site, type StoreKind, type Sync, sqliteSite } from './webhooks-peers.ts';
import { type Phases, runStore, type StoreResult } from './webhooks-phases.ts';

const USAGE = `npm run bench -- webhooks [--duration 4] [--rounds 2] [--warmup 2] [--connections 32] [--endpoints 1]
                              [--batch 2000] [--latency-rate 50] [--latency-s 4] [--worker-concurrency 16]
                              [--max-wait-s 30] [--limited-batch 500] [--sqlite-sync full|normal]
                              [--stores sqlite,postgres]
                              [--pg-url postgres://postgres@127.0.0.1:5432/test]`;

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').trim();

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '32' },
      endpoints: { type: 'string', default: '1' },
      batch: { type: 'string', default: '2000' },
      'latency-rate': { type: 'string', default: '50' },
      'latency-s': { type: 'string', default: '4' },
      'worker-concurrency': { type: 'string', default: '16' },
      'max-wait-s': { type: 'string', default: '30' },
      'limited-batch': { type: 'string', default: '500' },
      'sqlite-sync': { type: 'string', default: 'full' },
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
  const o: Phases = {
    durationS: Number(values.duration),
    rounds: Number(values.rounds),
    warmupS: Number(values.warmup),
    connections: Number(values.connections),
    endpoints: Number(values.endpoints),
    batch: Number(values.batch),
    latencyRate: Number(values['latency-rate']),
    latencyS: Number(values['latency-s']),
    workerConcurrency: Number(values['worker-concurrency']),
    maxWaitS: Number(values['max-wait-s']),
    limitedBatch: Number(values['limited-batch']),
    sync: values['sqlite-sync'].toUpperCase() as Sync,
    token: randomBytes(24).toString('hex'),
    runId: randomBytes(4).toString('hex'),
  };
  const stores = values.stores.split(',').filter(Boolean) as StoreKind[];
  if (
    !(
      o.durationS >= 1 &&
      o.rounds >= 1 &&
      o.warmupS >= 0 &&
      o.connections >= 1 &&
      o.endpoints >= 1 &&
      o.endpoints <= 64 &&
      o.batch >= 1 &&
      o.latencyRate > 0 &&
      o.latencyS > 0 &&
      o.workerConcurrency >= 1 &&
      o.workerConcurrency <= 1000 &&
      o.maxWaitS > 0 &&
      o.limitedBatch >= 1
    ) ||
    (o.sync !== 'FULL' && o.sync !== 'NORMAL') ||
    stores.some((s) => s !== 'sqlite' && s !== 'postgres')
  ) {
    console.error(`bad arguments\n${USAGE}`);
    return 2;
  }
  const machine = machineInfo(); // before any load, so its load average is the machine's own
  const startedAt = new Date();
  const loadStart = loadavg();
  console.log(
    `webhooks: ${o.connections} senders, ${o.endpoints} endpoint(s), worker concurrency ${o.workerConcurrency}; ` +
      `accept ${o.warmupS} s warmup + ${o.rounds} × ${o.durationS} s per case; batch ${o.batch}; ` +
      `paced ${o.latencyRate}/s for ${o.latencyS} s; /proc/loadavg ${loadStart}`,
  );
  if (os.loadavg()[0]! > 0.5) console.log('note: the machine is not idle: figures will be noisy');

  const receiver = new Child('receiver', process.execPath, [path.join(ROOT, 'bench/webhooks-receiver.ts')]);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-webhooks-'));
  const report: Record<string, StoreResult | { status: 'skipped'; reason: string }> = {};
  let failed = false;
  try {
    const receiverOrigin = `http://127.0.0.1:${await receiver.port()}`;
    for (const kind of stores) {
      let site: Site;
      try {
        site = kind === 'sqlite' ? sqliteSite(tmp) : await postgresSite(values['pg-url'], o.runId);
      } catch (err) {
        console.log(`${kind}: skipped: ${(err as Error).message}`);
        report[kind] = { status: 'skipped', reason: (err as Error).message };
        continue;
      }
      try {
        console.log(`\n${kind}:`);
        const r = await runStore(site, tmp, receiverOrigin, o);
        report[kind] = r;
        if (r.problems.length > 0) failed = true;
      } finally {
        await site.cleanup();
      }
    }
  } finally {
    await receiver.stop();
    await rm(tmp, { recursive: true, force: true });
  }

  console.log('\nsummary (ratios of rates measured in this run):');
  for (const kind of stores) {
    const r = report[kind];
    if (r === undefined || r.status !== 'ok') continue;
    const a = r.accept.results;
    console.log(
      `  ${kind}: accept ${a.accept.rps.toFixed(0)} msg/s (p50 ${a.accept.p50Ms.toFixed(1)} ms, p99 ${a.accept.p99Ms.toFixed(1)} ms), ` +
        `store-send ${a['store-send'].rps.toFixed(0)}/s, raw ${a.raw.rps.toFixed(0)}/s; ` +
        `accept/store-send ${r.ratios['accept/store-send']}, accept/raw ${r.ratios['accept/raw']}\n` +
        `  ${' '.repeat(kind.length)}  deliver ${r.deliver.deliveriesPerS.toFixed(0)}/s, drain ${r.drain.deliveriesPerS.toFixed(0)}/s, ` +
        `direct undici ${r.direct.rps.toFixed(0)}/s; deliver/direct ${r.ratios['deliver/direct']}, drain/direct ${r.ratios['drain/direct']}; ` +
        `accept → first attempt p50/p99: batch ${r.deliver.acceptToAttempt.p50Ms.toFixed(0)}/${r.deliver.acceptToAttempt.p99Ms.toFixed(0)} ms, ` +
        `paced ${r.latency.acceptToAttempt.p50Ms.toFixed(0)}/${r.latency.acceptToAttempt.p99Ms.toFixed(0)} ms`,
    );
    for (const p of r.problems) console.log(`    problem: ${p}`);
  }
  const loadEnd = loadavg();
  console.log(`/proc/loadavg at the end: ${loadEnd}`);
  await writeAtomic(
    path.join(RESULTS_DIR, 'webhooks-latest.json'),
    `${JSON.stringify(
      {
        kind: 'webhooks',
        startedAt: startedAt.toISOString(),
        machine,
        procLoadavgAtStart: loadStart,
        procLoadavgAtEnd: loadEnd,
        loadGenerator: { name: 'bench/webhooks-load.ts (undici Pool, Node)', node: process.version },
        settings: { ...o, token: undefined, stores },
        ...report,
      },
      null,
      2,
    )}\n`,
  );
  console.log('wrote bench/results/webhooks-latest.json');
  if (failed) console.log('some requests failed or deliveries are missing: check the problems above');
  return failed ? 1 : 0;
}
