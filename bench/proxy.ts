/**
 * The proxy benchmark: one upstream, then each peer in turn (never two at once) driven by the same
 * load generator with the same connections and duration, a warmup run discarded first.
 * See docs/benchmarks.md for what the peers are and how to read the figures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Child } from './lib/children.ts';
import { ROOT } from './lib/junction.ts';
import { combine, type LoadSettings, pickLoadGenerator } from './lib/load.ts';
import { GROUPS, PEERS, type PeerName, type RunningGroup, type Target } from './lib/peers.ts';
import {
  machineInfo,
  type PeerResult,
  printTable,
  RESULTS_DIR,
  targetRatios,
  writeAtomic,
} from './lib/report.ts';
import { barChart } from './lib/svg.ts';

const USAGE = `npm run bench [-- proxy] [--duration 10] [--warmup 3] [--connections 50] [--rounds 1]
                 [--only direct,junction-plain,...] [--load wrk|autocannon]
peers: ${PEERS.join(', ')}`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '1' },
      only: { type: 'string' },
      load: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const settings: LoadSettings = {
    connections: Number(values.connections),
    durationS: Number(values.duration),
  };
  const warmupS = Number(values.warmup);
  const rounds = Number(values.rounds);
  const only = values.only?.split(',').map((s) => s.trim()) ?? [...PEERS];
  const unknown = only.filter((p) => !(PEERS as readonly string[]).includes(p));
  if (
    unknown.length > 0 ||
    !(settings.connections >= 1 && settings.durationS >= 1 && warmupS >= 0 && rounds >= 1)
  ) {
    console.error(
      `bad arguments ${unknown.length > 0 ? `(unknown peer ${unknown.join(', ')})` : ''}\n${USAGE}`,
    );
    return 2;
  }
  const selected = PEERS.filter((p) => only.includes(p));

  const load = pickLoadGenerator(values.load);
  const startedAt = new Date();
  const machine = machineInfo(); // before any load, so its load average is the machine's own
  console.log(
    `load: ${load.version}; ${settings.connections} connections, ${warmupS} s warmup + ` +
      (rounds > 1 ? `${rounds} rounds of ${settings.durationS} s per peer` : `${settings.durationS} s`),
  );
  const busy = os.loadavg()[0]!;
  if (busy > 0.5)
    console.log(`note: 1-minute load average is ${busy.toFixed(2)} before starting: figures will be noisy`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-'));
  const results: Partial<Record<PeerName, PeerResult>> = {};
  const peerInfo: Record<string, Record<string, string>> = {};

  const upstream = new Child('upstream', process.execPath, ['bench/upstream.ts'], { cwd: ROOT });
  try {
    const origin = `http://127.0.0.1:${await upstream.port()}`;
    for (const group of GROUPS) {
      const peers = group.peers.filter((p) => selected.includes(p));
      if (peers.length === 0) continue;
      const skip = group.skip?.();
      if (skip) {
        for (const p of peers) results[p] = { status: 'skipped', reason: skip };
        continue;
      }
      let running: RunningGroup;
      try {
        running = await group.start(await mkdtemp(path.join(tmp, `${group.name}-`)), origin);
      } catch (err) {
        for (const p of peers) results[p] = { status: 'failed', reason: (err as Error).message };
        console.log(`${group.name} failed to start: ${(err as Error).message}`);
        continue;
      }
      peerInfo[group.name] = running.info;
      try {
        // With --rounds N the group's peers are measured in turn N times (checked and warmed up in
        // the first round only), so load that drifts on a shared machine weighs on each alike.
        const targets = running.targets.filter((t) => peers.includes(t.peer));
        const runs = new Map<PeerName, PeerResult[]>();
        for (let round = 0; round < rounds; round++) {
          if (rounds > 1) console.log(`round ${round + 1} of ${rounds}`);
          for (const target of targets) {
            const done = runs.get(target.peer) ?? [];
            if (done.some((r) => r.status !== 'ok')) continue;
            const first = round === 0;
            done.push(
              await measure(target, running, load, settings, warmupS, first).catch(
                (err: Error): PeerResult => {
                  console.log(`${target.peer} failed: ${err.message}`);
                  return { status: 'failed', reason: err.message };
                },
              ),
            );
            runs.set(target.peer, done);
          }
        }
        for (const [peer, rs] of runs) results[peer] = combineRounds(rs);
      } finally {
        await running.stop();
      }
    }
  } finally {
    await upstream.stop();
    await rm(tmp, { recursive: true, force: true });
  }

  const ratios = targetRatios(results);
  printTable(results, ratios);
  const report = {
    kind: 'proxy',
    startedAt: startedAt.toISOString(),
    machine,
    loadGenerator: { name: load.name, version: load.version },
    settings: { ...settings, warmupS, rounds, peers: selected },
    peers: results,
    peerInfo,
    ratios,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  await writeAtomic(path.join(RESULTS_DIR, `proxy-${stamp}.json`), json);
  await writeAtomic(path.join(RESULTS_DIR, 'latest.json'), json);
  await writeAtomic(path.join(RESULTS_DIR, 'latest.svg'), chart(results, report, settings));
  console.log(`\nwrote bench/results/proxy-${stamp}.json, latest.json, latest.svg`);
  return Object.values(results).some((r) => r.status === 'failed') ? 1 : 0;
}

async function measure(
  target: Target,
  running: RunningGroup,
  load: ReturnType<typeof pickLoadGenerator>,
  settings: LoadSettings,
  warmupS: number,
  first = true,
): Promise<PeerResult> {
  if (!first) {
    process.stdout.write(`${target.peer.padEnd(20)} measuring ${settings.durationS} s ... `);
    return run(target, running, load, settings);
  }
  // One request first: a proxy answering 404 or 502 fast must not pass for a fast proxy.
  const res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(5000) });
  const body = await res.arrayBuffer();
  if (res.status !== 200 || body.byteLength !== 1024) {
    const text = new TextDecoder().decode(body.slice(0, 300));
    throw new Error(`GET ${target.url} answered ${res.status} with ${body.byteLength} bytes: ${text}`);
  }
  if (target.expectHeader !== undefined && !res.headers.has(target.expectHeader))
    throw new Error(`GET ${target.url} answered without a ${target.expectHeader} header`);
  process.stdout.write(`${target.peer.padEnd(20)} warmup ${warmupS} s, `);
  const withHeaders = { ...settings, headers: target.headers };
  if (warmupS > 0) await load.run(target.url, { ...withHeaders, durationS: warmupS });
  process.stdout.write(`measuring ${settings.durationS} s ... `);
  return run(target, running, load, settings);
}

async function run(
  target: Target,
  running: RunningGroup,
  load: ReturnType<typeof pickLoadGenerator>,
  settings: LoadSettings,
): Promise<PeerResult> {
  const withHeaders = { ...settings, headers: target.headers };
  const before = running.counters?.();
  const result = await load.run(target.url, withHeaders);
  const after = running.counters?.();
  console.log(`${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms`);
  const counters =
    before && after
      ? Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]))
      : undefined;
  return { status: 'ok', url: target.url, ...result, ...(counters && { counters }) };
}

/** A peer's rounds as one result (mean req/s, worst percentiles, counters summed), or its failure. */
function combineRounds(rs: PeerResult[]): PeerResult {
  const failed = rs.find((r) => r.status !== 'ok');
  if (failed !== undefined) return failed;
  const ok = rs as Extract<PeerResult, { status: 'ok' }>[];
  if (ok.length === 1) return ok[0]!;
  const counters = ok.every((r) => r.counters)
    ? Object.fromEntries(
        Object.keys(ok[0]!.counters!).map((k) => [k, ok.reduce((sum, r) => sum + (r.counters![k] ?? 0), 0)]),
      )
    : undefined;
  return {
    status: 'ok',
    url: ok[0]!.url,
    ...combine(ok),
    ...(counters && { counters }),
    roundsRps: ok.map((r) => r.rps),
  };
}

function chart(
  results: Partial<Record<PeerName, PeerResult>>,
  report: { startedAt: string; machine: Record<string, unknown>; loadGenerator: { version: string } },
  settings: LoadSettings,
): string {
  const bars = Object.entries(results).map(([peer, r]) => ({
    label: peer,
    value: r.status === 'ok' ? r.rps : null,
    note:
      r.status === 'ok'
        ? `${r.rps.toFixed(0)} req/s · p99 ${r.p99Ms.toFixed(2)} ms`
        : `${r.status}: ${r.reason.split('\n')[0]}`,
    highlight: peer.startsWith('junction'),
  }));
  const m = report.machine;
  return barChart(
    'Reverse proxy throughput (req/s, higher is better)',
    `${report.startedAt} · ${m.cpus} × ${m.cpuModel} · node ${m.node} · ` +
      `${report.loadGenerator.version}, ${settings.connections} connections, ${settings.durationS} s`,
    bars,
  );
}
