/**
 * What a proxy run produces: the table on stdout, the ratios our targets are stated in, and the JSON
 * kept in bench/results/ (one file per run plus latest.json, which the chart is drawn from).
 */
import { spawnSync } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './junction.ts';
import type { LoadResult } from './load.ts';
import type { PeerName } from './peers.ts';

export type PeerResult =
  | ({
      status: 'ok';
      url: string;
      counters?: Record<string, number>;
      /** With --rounds N: each round's req/s (the peer's `rps` is their mean). */
      roundsRps?: number[];
    } & LoadResult)
  | { status: 'skipped' | 'failed'; reason: string };

export interface Ratio {
  name: string;
  value: number | null;
  target: number;
  verdict: 'PASS' | 'FAIL' | 'n/a';
}

/** The ratios docs/benchmarks.md states targets for: [numerator, denominator, target]. */
const TARGETS: [PeerName, PeerName, number][] = [
  ['junction-plain', 'fastify-http-proxy', 1.5],
  ['junction-plain', 'nginx', 0.6],
  ['junction-observed', 'junction-plain', 0.85],
  ['junction-resilient', 'junction-plain', 0.9],
  // No stated target: a cache hit skipping the upstream should at least not be slower than proxying.
  ['junction-cached', 'junction-plain', 1],
  // auth.jwt on every request (RS256, one token reused): the cost of bearer authentication.
  ['junction-jwt', 'junction-plain', 0.85],
  // auth.api-key on every request (one key, its lookup cached): the same bar as a bearer token.
  ['junction-api-key', 'junction-plain', 0.85],
  // api-key + an in-memory rate limit per key: Kong's key-auth + rate-limiting keeps about 0.76.
  ['junction-key-limited', 'junction-plain', 0.76],
];

type Results = Partial<Record<PeerName, PeerResult>>;

function ratio(results: Results, a: PeerName, b: PeerName): number | null {
  const x = results[a];
  const y = results[b];
  return x?.status === 'ok' && y?.status === 'ok' && y.rps > 0 ? x.rps / y.rps : null;
}

export function targetRatios(results: Results): Ratio[] {
  return TARGETS.map(([a, b, target]) => {
    const value = ratio(results, a, b);
    const verdict = value === null ? 'n/a' : value >= target ? 'PASS' : 'FAIL';
    return { name: `${a} / ${b}`, value, target, verdict };
  });
}

const fmt = (n: number | null, digits: number) => (n === null ? '-' : n.toFixed(digits));

export function printTable(results: Results, ratios: Ratio[]): void {
  const header = [
    'peer',
    'req/s',
    'p50 ms',
    'p99 ms',
    'non-2xx',
    'errors',
    'vs fastify',
    'vs nginx',
    'vs direct',
  ];
  const notMeasured: string[] = [];
  const rows = Object.entries(results).map(([peer, r]) => {
    if (r.status !== 'ok') {
      notMeasured.push(`  ${peer}: ${r.status}: ${r.reason}`);
      return [peer, r.status, '', '', '', '', '', '', ''];
    }
    const vs = (b: PeerName) => fmt(ratio(results, peer as PeerName, b), 2);
    const cells = [r.rps.toFixed(0), fmt(r.p50Ms, 2), fmt(r.p99Ms, 2), String(r.non2xx), String(r.errors)];
    return [peer, ...cells, vs('fastify-http-proxy'), vs('nginx'), vs('direct')];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of rows) console.log(line(row));
  if (notMeasured.length > 0) console.log(`\nNot measured:\n${notMeasured.join('\n')}`);
  console.log('\nTargets (informative):');
  for (const r of ratios) {
    console.log(
      `  ${r.name.padEnd(40)} ${fmt(r.value, 2).padStart(5)}  (target >= ${r.target})  ${r.verdict}`,
    );
  }
}

function packageVersion(name: string): string | undefined {
  try {
    const require = createRequire(path.join(ROOT, 'package.json'));
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function git(...args: string[]): string | undefined {
  return spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    commit: git('rev-parse', '--short', 'HEAD'),
    // Figures from a tree with uncommitted source changes belong to no commit.
    uncommittedSrc: git('status', '--porcelain', '--', 'src') !== '',
    loadAverage1m: os.loadavg()[0],
    packages: Object.fromEntries(
      ['fastify', '@fastify/http-proxy', '@fastify/reply-from', 'undici'].map((n) => [n, packageVersion(n)]),
    ),
  };
}

/** Writes `file` via a `.tmp` sibling and a rename, so a reader never sees half a result. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

export const RESULTS_DIR = path.join(ROOT, 'bench/results');
