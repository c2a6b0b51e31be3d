/**
 * The phases of `npm run bench -- webhooks` on one store (see bench/webhooks.ts for what each
 * measures): one gateway, accept with its peers in alternating rounds, drain, deliver, latency, and
 * the direct undici peer. Returns the figures and the ratios; `problems` lists what makes a figure
 * untrustworthy (errors, non-2xx, deliveries missing or repeated).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWebhookClient } from '../src/webhooks/client.ts';
import { runToEnd } from './lib/children.ts';
import { ROOT, startJunction } from './lib/junction.ts';
import { combine, type LoadResult } from './lib/load.ts';
import { prepareReference, rawLoop, type Site, type Sync, storeSendLoop } from './webhooks-peers.ts';

export interface Phases {
  durationS: number;
  rounds: number;
  warmupS: number;
  connections: number;
  endpoints: number;
  batch: number;
  latencyRate: number;
  latencyS: number;
  workerConcurrency: number;
  maxWaitS: number;
  /** Messages in the backlog of each `limited` case. */
  limitedBatch: number;
  sync: Sync;
  token: string;
  runId: string;
}

type AcceptCase = 'accept' | 'store-send' | 'raw';
const CASES: AcceptCase[] = ['accept', 'store-send', 'raw'];
const TYPE = 'order.created';
/** A small schema, as a platform registers one: every send is validated against it. */
const SCHEMA = {
  type: 'object',
  required: ['seq', 'sent_at', 'id', 'total'],
  properties: {
    seq: { type: 'integer' },
    sent_at: { type: 'number' },
    id: { type: 'string' },
    total: { type: 'integer' },
  },
};

interface Percentiles {
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface DeliveryRun {
  messages: number;
  deliveries: number;
  complete: boolean;
  seconds: number;
  deliveriesPerS: number;
  /** Arrivals beyond the first per (message, endpoint): redeliveries. */
  repeated: number;
  /** The 202 → the receiver's arrival of the first attempt. */
  acceptToAttempt: Percentiles;
  /** `sent_at` in the payload (before the POST left) → the first attempt's arrival. */
  sendToAttempt: Percentiles;
  /** First attempts that arrived before the sender had read its 202. */
  beforeAccept: number;
  send: LoadResult;
  gatewayCpuMsPerMessage?: number;
}

export interface StoreResult {
  status: 'ok';
  accept: {
    runs: Record<AcceptCase, LoadResult[]>;
    results: Record<AcceptCase, LoadResult>;
    gatewayCpuMsPerMessage: number;
  };
  drain: { messages: number; deliveries: number; complete: boolean; seconds: number; deliveriesPerS: number };
  deliver: DeliveryRun;
  latency: DeliveryRun;
  direct: LoadResult & { connections: number };
  limited: Record<LimitedCase, LimitedDrain>;
  ratios: Record<
    | 'accept/store-send'
    | 'accept/raw'
    | 'store-send/raw'
    | 'deliver/direct'
    | 'drain/direct'
    | 'limited/unlimited',
    number
  >;
  gatewaySqliteSynchronous?: Sync;
  problems: string[];
}

type LimitedCase = 'unlimited' | 'limited';
interface LimitedDrain {
  messages: number;
  deliveries: number;
  complete: boolean;
  seconds: number;
  deliveriesPerS: number;
  /** Deliveries given back to the queue for the concurrency limit (claimed, not sent), per delivery. */
  holdsPerDelivery: number;
}

type LoadOut = LoadResult & {
  statuses: Record<string, number>;
  seconds: number;
  accepted?: [string, number][];
};
type Arrival = [string, string, number, number];

async function load(args: string[]): Promise<LoadOut> {
  const out = await runToEnd('webhooks-load', process.execPath, [
    path.join(ROOT, 'bench/webhooks-load.ts'),
    ...args,
  ]);
  return JSON.parse(out.trim().split('\n').at(-1)!) as LoadOut;
}

/** CPU ms (user + system) a process has used so far, from /proc (Linux; 0 elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return 0;
  }
}

function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil((q / 100) * s.length) - 1))] ?? Number.NaN;
  const r = (x: number) => Number(x.toFixed(2));
  return { n: s.length, p50Ms: r(at(50)), p99Ms: r(at(99)), maxMs: r(s.at(-1) ?? Number.NaN) };
}

function receiverClient(origin: string) {
  const post = async (p: string) => (await fetch(`${origin}${p}`, { method: 'POST' })).arrayBuffer();
  return {
    hold: () => post('/__hold'),
    release: () => post('/__release'),
    async stats(from = Number.MAX_SAFE_INTEGER) {
      const res = await fetch(`${origin}/__stats?from=${from}`);
      return (await res.json()) as { count: number; direct: number; held: number; arrivals: Arrival[] };
    },
  };
}
type Receiver = ReturnType<typeof receiverClient>;

/** The gateway's count of deliveries held for a reason (junction_webhook_delivery_waits_total). */
async function waits(adminOrigin: string, reason: string): Promise<number> {
  const text = await (await fetch(`${adminOrigin}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`junction_webhook_delivery_waits_total{reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

/** A limited endpoint drains one request at a time: given longer than the other phases. */
const limitedWaitS = (o: Phases) => Math.max(o.maxWaitS, 120);

/**
 * limited: `limitedBatch` messages queued (the receiver holding) for one endpoint of its own
 * application, then released and drained; the endpoint has `max_concurrency: 1` or no limit (the peer).
 */
async function limitedDrain(
  c: LimitedCase,
  receiver: Receiver,
  receiverOrigin: string,
  adminOrigin: string,
  o: Phases,
): Promise<LimitedDrain> {
  const admin = createWebhookClient({ baseUrl: adminOrigin, token: o.token });
  const app = await admin.createApp({ name: `Bench ${c}` });
  await admin.createEndpoint(app.id, {
    url: `${receiverOrigin}/${c}`,
    ...(c === 'limited' ? { max_concurrency: 1 } : {}),
  });
  const start = (await receiver.stats()).count;
  await receiver.hold();
  const heldBefore = await waits(adminOrigin, 'concurrency');
  const send = await load([
    '--mode',
    'send',
    '--url',
    `${adminOrigin}/admin/v1/apps/${app.id}/messages`,
    '--token',
    o.token,
    '--connections',
    String(o.connections),
    '--count',
    String(o.limitedBatch),
    '--prefix',
    `${o.runId}${c}`,
  ]);
  const messages = send.statuses['202'] ?? 0;
  const before = (await receiver.stats()).count;
  const released = performance.timeOrigin + performance.now();
  await receiver.release();
  const drained = await waitFor(receiver, before, start + messages, limitedWaitS(o));
  const lastAt = drained.reduce((a, b) => Math.max(a, b[2]), released);
  const deliveries = before - start + drained.length;
  const seconds = (lastAt - released) / 1000;
  const held = (await waits(adminOrigin, 'concurrency')) - heldBefore;
  return {
    messages,
    deliveries,
    complete: deliveries >= messages,
    seconds: Number(seconds.toFixed(3)),
    deliveriesPerS: Number((drained.length / Math.max(seconds, 0.001)).toFixed(1)),
    holdsPerDelivery: Number((held / Math.max(1, deliveries)).toFixed(2)),
  };
}

/** Polls the receiver until it has `target` arrivals or `maxS` passed; the arrivals from `from` on. */
async function waitFor(receiver: Receiver, from: number, target: number, maxS: number) {
  const deadline = performance.now() + maxS * 1000;
  while ((await receiver.stats()).count < target && performance.now() < deadline) await sleep(200);
  return (await receiver.stats(from)).arrivals;
}

/** Sends messages (as the load args say) while the worker delivers; what reached the receiver. */
async function deliveryRun(
  receiver: Receiver,
  endpoints: number,
  maxS: number,
  args: string[],
  pid?: number,
) {
  const from = (await receiver.stats()).count;
  const cpuBefore = cpuMs(pid);
  const send = await load([...args, '--record']);
  const accepted = new Map(send.accepted ?? []);
  const arrivals = await waitFor(receiver, from, from + accepted.size * endpoints, maxS);
  const gatewayCpuMsPerMessage = Number(((cpuMs(pid) - cpuBefore) / Math.max(1, accepted.size)).toFixed(3));
  const firsts = new Map<string, Arrival>();
  for (const a of arrivals)
    if (accepted.has(a[0]) && !firsts.has(`${a[0]} ${a[1]}`)) firsts.set(`${a[0]} ${a[1]}`, a);
  const times = [...firsts.values()].map((a) => a[2]);
  const first = times.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const last = times.reduce((a, b) => Math.max(a, b), 0);
  const fromAccept = [...firsts.values()].map((a) => a[2] - accepted.get(a[0])!);
  const seconds = (last - first) / 1000;
  const result: DeliveryRun = {
    messages: accepted.size,
    deliveries: firsts.size,
    complete: firsts.size >= accepted.size * endpoints,
    seconds: Number(seconds.toFixed(3)),
    deliveriesPerS: Number((firsts.size / Math.max(seconds, 0.001)).toFixed(1)),
    repeated: arrivals.filter((a) => accepted.has(a[0])).length - firsts.size,
    acceptToAttempt: percentiles(fromAccept),
    sendToAttempt: percentiles([...firsts.values()].filter((a) => a[3] > 0).map((a) => a[2] - a[3])),
    beforeAccept: fromAccept.filter((x) => x < 0).length,
    send: { ...send, accepted: undefined } as LoadResult,
    gatewayCpuMsPerMessage,
  };
  return result;
}

const fmt = (r: LoadResult) =>
  `${r.rps.toFixed(0).padStart(6)}/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${r.errors}, non-2xx ${r.non2xx}`;

export async function runStore(
  site: Site,
  tmp: string,
  receiverOrigin: string,
  o: Phases,
): Promise<StoreResult> {
  const kind = site.kind;
  const problems: string[] = [];
  const receiver = receiverClient(receiverOrigin);
  const refUrl = await site.fresh('ref');
  const refApp = await prepareReference(kind, refUrl, o.sync, o.endpoints, receiverOrigin);
  const gwUrl = await site.fresh('gw');
  const dir = await mkdtemp(path.join(tmp, `${kind}-gw-`));
  // store.sqliteSynchronous: FULL (the default: a 202 means on disk, as DESIGN.md promises) or, with
  // --sqlite-sync normal, NORMAL (survives a killed process only).
  const junction = await startJunction({
    tmp: dir,
    logLevel: 'warn',
    config: {
      admin: { token: o.token },
      store: { url: gwUrl, ...(kind === 'sqlite' ? { sqliteSynchronous: o.sync } : {}) },
      events: {
        worker: { concurrency: o.workerConcurrency },
      },
      // Long response timeout: the accept phase holds the first deliveries unanswered on purpose.
      webhooks: { allowHosts: ['127.0.0.1'], timeoutMs: 120_000 },
    },
  });
  const pid = junction.child.pid;
  try {
    const admin = createWebhookClient({ baseUrl: junction.adminOrigin, token: o.token });
    await admin.createEventType({ name: TYPE, schema: SCHEMA });
    const app = await admin.createApp({ name: 'Bench' });
    for (let i = 0; i < o.endpoints; i++)
      await admin.createEndpoint(app.id, { url: `${receiverOrigin}/ep/${i}` });
    const sendArgs = [
      '--mode',
      'send',
      '--url',
      `${junction.adminOrigin}/admin/v1/apps/${app.id}/messages`,
      '--token',
      o.token,
    ];

    // accept, with its peers, the receiver holding
    const start = (await receiver.stats()).count;
    await receiver.hold();
    const runs: Record<AcceptCase, LoadResult[]> = { accept: [], 'store-send': [], raw: [] };
    let acceptedTotal = 0;
    let cpu = 0;
    const measure = async (name: AcceptCase, durationS: number, prefix: string): Promise<LoadResult> => {
      if (name === 'store-send')
        return storeSendLoop(kind, refUrl, o.sync, refApp, TYPE, o.connections, durationS, prefix);
      if (name === 'raw')
        return rawLoop(kind, refUrl, o.sync, refApp, TYPE, o.connections, durationS, prefix);
      const before = cpuMs(pid);
      const r = await load([
        ...sendArgs,
        '--connections',
        String(o.connections),
        '--duration',
        String(durationS),
        '--prefix',
        prefix,
      ]);
      cpu += cpuMs(pid) - before;
      acceptedTotal += r.statuses['202'] ?? 0;
      return r;
    };
    if (o.warmupS > 0) for (const name of CASES) await measure(name, o.warmupS / 2, `${o.runId}w${name}`);
    const cpuWarm = cpu;
    const acceptedWarm = acceptedTotal;
    for (let round = 0; round < o.rounds; round++) {
      for (const name of CASES) {
        const r = await measure(name, o.durationS, `${o.runId}r${round}${name}`);
        runs[name].push(r);
        console.log(`  ${kind.padEnd(8)} ${name.padEnd(10)} ${fmt(r)}`);
      }
    }
    const results = Object.fromEntries(CASES.map((n) => [n, combine(runs[n])])) as Record<
      AcceptCase,
      LoadResult
    >;
    if (results.accept.errors + results.accept.non2xx > 0) problems.push('accept: errors or non-2xx answers');
    const gatewayCpuMsPerMessage = Number(
      ((cpu - cpuWarm) / Math.max(1, acceptedTotal - acceptedWarm)).toFixed(3),
    );

    // drain: what the accept phase queued, nothing sent meanwhile
    const before = (await receiver.stats()).count;
    const released = performance.timeOrigin + performance.now();
    await receiver.release();
    const expected = acceptedTotal * o.endpoints;
    // The receiver's count runs over the whole bench: this store's arrivals start at `start`.
    const drained = await waitFor(receiver, before, start + expected, o.maxWaitS);
    const lastAt = drained.reduce((a, b) => Math.max(a, b[2]), released);
    const drainCount = before - start + drained.length;
    const drainS = (lastAt - released) / 1000;
    const drain = {
      messages: acceptedTotal,
      deliveries: drainCount,
      complete: drainCount >= expected,
      seconds: Number(drainS.toFixed(3)),
      deliveriesPerS: Number((drained.length / Math.max(drainS, 0.001)).toFixed(1)),
    };
    console.log(
      `  ${kind.padEnd(8)} drain      ${drain.deliveriesPerS.toFixed(0).padStart(6)}/s (${drainCount} of ${expected} in ${drain.seconds} s)`,
    );
    if (!drain.complete)
      problems.push(`drain: ${drainCount} of ${expected} deliveries within ${o.maxWaitS} s`);

    // deliver: a fixed batch as fast as the senders go
    const deliver = await deliveryRun(
      receiver,
      o.endpoints,
      o.maxWaitS,
      [
        ...sendArgs,
        '--connections',
        String(o.connections),
        '--count',
        String(o.batch),
        '--prefix',
        `${o.runId}b`,
      ],
      pid,
    );
    console.log(
      `  ${kind.padEnd(8)} deliver    ${deliver.deliveriesPerS.toFixed(0).padStart(6)}/s (${deliver.deliveries} deliveries in ${deliver.seconds} s; ` +
        `sent at ${deliver.send.rps.toFixed(0)}/s), accept → first attempt p50 ${deliver.acceptToAttempt.p50Ms} ms, p99 ${deliver.acceptToAttempt.p99Ms} ms`,
    );
    // latency: paced below what the worker delivers
    const latency = await deliveryRun(receiver, o.endpoints, o.maxWaitS, [
      ...sendArgs,
      '--connections',
      String(o.connections),
      '--rate',
      String(o.latencyRate),
      '--duration',
      String(o.latencyS),
      '--prefix',
      `${o.runId}l`,
    ]);
    console.log(
      `  ${kind.padEnd(8)} latency    ${o.latencyRate}/s paced: accept → first attempt p50 ${latency.acceptToAttempt.p50Ms} ms, ` +
        `p99 ${latency.acceptToAttempt.p99Ms} ms (send → attempt p50 ${latency.sendToAttempt.p50Ms} ms)`,
    );
    for (const [name, r] of [
      ['deliver', deliver],
      ['latency', latency],
    ] as const) {
      if (!r.complete)
        problems.push(
          `${name}: ${r.deliveries} of ${r.messages * o.endpoints} deliveries within ${o.maxWaitS} s`,
        );
      if (r.send.errors + r.send.non2xx > 0) problems.push(`${name}: sending had errors or non-2xx answers`);
    }

    // limited: a max_concurrency 1 endpoint's backlog against an unlimited one's (the peer)
    const limited = {} as Record<LimitedCase, LimitedDrain>;
    for (const c of ['unlimited', 'limited'] as const) {
      const r = await limitedDrain(c, receiver, receiverOrigin, junction.adminOrigin, o);
      limited[c] = r;
      console.log(
        `  ${kind.padEnd(8)} ${c.padEnd(10)} ${r.deliveriesPerS.toFixed(0).padStart(6)}/s (${r.deliveries} of ${r.messages} in ${r.seconds} s), ` +
          `${r.holdsPerDelivery} holds per delivery`,
      );
      if (!r.complete)
        problems.push(`${c}: ${r.deliveries} of ${r.messages} deliveries within ${limitedWaitS(o)} s`);
    }

    // direct: the same number of POSTs straight to the receiver, the worker's concurrency
    const directOut = await load([
      '--mode',
      'direct',
      '--url',
      `${receiverOrigin}/direct`,
      '--connections',
      String(o.workerConcurrency),
      '--count',
      String(o.batch * o.endpoints),
      '--prefix',
      `${o.runId}d`,
    ]);
    const direct = { ...directOut, connections: o.workerConcurrency };
    console.log(`  ${kind.padEnd(8)} direct     ${fmt(direct)}`);

    const r3 = (a: number, b: number) => Number((a / b).toFixed(3));
    return {
      status: 'ok',
      accept: { runs, results, gatewayCpuMsPerMessage },
      drain,
      deliver,
      latency,
      direct,
      limited,
      ratios: {
        'accept/store-send': r3(results.accept.rps, results['store-send'].rps),
        'accept/raw': r3(results.accept.rps, results.raw.rps),
        'store-send/raw': r3(results['store-send'].rps, results.raw.rps),
        'deliver/direct': r3(deliver.deliveriesPerS, direct.rps),
        'drain/direct': r3(drain.deliveriesPerS, direct.rps),
        'limited/unlimited': r3(limited.limited.deliveriesPerS, limited.unlimited.deliveriesPerS),
      },
      ...(kind === 'sqlite' ? { gatewaySqliteSynchronous: o.sync } : {}),
      problems,
    };
  } finally {
    await junction.child.stop();
    // Whatever went wrong is most likely in the gateway's log (warn and above), gone with the temp dir.
    if (problems.length > 0) {
      const log = readFileSync(junction.logFile, 'utf8').trim().split('\n').slice(-10);
      console.log(`  gateway log (last lines):\n    ${log.join('\n    ')}`);
    }
  }
}
