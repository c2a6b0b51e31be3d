/**
 * `npm run bench -- rate-limit`: what core.rate-limit costs.
 *
 * 1. Decisions per second of each algorithm in process, no HTTP (./rate-limit-decisions.ts).
 * 2. Requests per second through Junction: a plain route, the same route with a Redis rate limit
 *    and with an in-memory one (limits high enough never to refuse), in alternating rounds, reported
 *    as ratios to plain.
 *
 * About 50 s on a 2-core machine. Needs Redis on 127.0.0.1:6379 (or JUNCTION_REDIS_URL) for the
 * Redis figures; without it they are reported as skipped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Child } from './lib/children.ts';
import { ROOT, startJunction } from './lib/junction.ts';
import { combine, type LoadResult, pickLoadGenerator } from './lib/load.ts';
import { machineInfo, RESULTS_DIR, writeAtomic } from './lib/report.ts';
import { decisions, REDIS_URL, redisUp } from './rate-limit-decisions.ts';

const noDefaults = { 'core.access-log': false, 'core.metrics': false, 'core.tracing': false };

async function throughput(
  durationS: number,
  warmupS: number,
  connections: number,
  rounds: number,
  withRedis: boolean,
) {
  const load = pickLoadGenerator();
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'junction-bench-rl-'));
  const upstream = new Child('upstream', process.execPath, ['bench/upstream.ts'], { cwd: ROOT });
  const prefix = `junction:rl:bench:${randomBytes(4).toString('hex')}:`;
  const limited = (backend: Record<string, unknown>) => ({
    ...noDefaults,
    'core.rate-limit': { limits: [{ limit: 1_000_000_000, windowMs: 1000 }], backend },
  });
  const results: Record<string, LoadResult | string> = {};
  try {
    const origin = `http://127.0.0.1:${await upstream.port()}`;
    const junction = await startJunction({
      tmp,
      logLevel: 'warn',
      config: {
        upstreams: { bench: { targets: [origin], pool: { connections: 64 } } },
        routes: [
          {
            name: 'plain',
            match: { path: '/plain/*' },
            proxy: { upstream: 'bench', stripPrefix: '/plain' },
            policies: noDefaults,
          },
          {
            name: 'memory',
            match: { path: '/memory/*' },
            proxy: { upstream: 'bench', stripPrefix: '/memory' },
            policies: limited({ kind: 'memory' }),
          },
          {
            name: 'redis',
            match: { path: '/redis/*' },
            proxy: { upstream: 'bench', stripPrefix: '/redis' },
            policies: limited({ kind: 'redis', url: REDIS_URL, keyPrefix: prefix, timeoutMs: 1000 }),
          },
        ],
      },
    });
    try {
      const routes = withRedis ? ['plain', 'memory', 'redis'] : ['plain', 'memory'];
      if (!withRedis) results.redis = 'skipped: no Redis';
      for (const route of routes) {
        const url = `${junction.proxyOrigin}/${route}/x`;
        const check = await fetch(url);
        await check.arrayBuffer();
        if (check.status !== 200 || !(route === 'plain' || check.headers.has('ratelimit')))
          throw new Error(`GET ${url} answered ${check.status} without the expected headers`);
        if (warmupS > 0) await load.run(url, { connections, durationS: warmupS });
      }
      // Rounds alternate the routes, so a machine whose load drifts weighs on each alike.
      const runs: Record<string, LoadResult[]> = Object.fromEntries(routes.map((r) => [r, []]));
      for (let round = 0; round < rounds; round++) {
        for (const route of routes) {
          const r = await load.run(`${junction.proxyOrigin}/${route}/x`, { connections, durationS });
          runs[route]!.push(r);
          console.log(
            `${route.padEnd(7)} ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, non-2xx ${r.non2xx}`,
          );
        }
      }
      for (const [route, rs] of Object.entries(runs)) results[route] = combine(rs);
    } finally {
      await junction.child.stop();
    }
  } finally {
    await upstream.stop();
    await rm(tmp, { recursive: true, force: true });
    if (withRedis) {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  }
  const rps = (k: string) => (typeof results[k] === 'object' ? (results[k] as LoadResult).rps : null);
  const ratio = (k: string) => {
    const a = rps(k);
    const b = rps('plain');
    return a !== null && b ? Number((a / b).toFixed(3)) : null;
  };
  return { loadGenerator: load.version, results, ratios: { memory: ratio('memory'), redis: ratio('redis') } };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      'decision-ms': { type: 'string', default: '1500' },
    },
  });
  const machine = machineInfo();
  const withRedis = await redisUp();
  if (!withRedis) console.log(`no Redis at ${REDIS_URL}: Redis figures are skipped`);
  console.log('decisions in process (no HTTP):');
  const inProcess = await decisions(Number(values['decision-ms']), withRedis);
  console.log(
    `\nthrough Junction (${values.connections} connections, ${values.warmup} s warmup, ` +
      `${values.rounds} rounds of ${values.duration} s per route):`,
  );
  const http = await throughput(
    Number(values.duration),
    Number(values.warmup),
    Number(values.connections),
    Number(values.rounds),
    withRedis,
  );
  console.log(
    `\nrate-limited route / plain route: memory ${http.ratios.memory ?? '-'}, redis ${http.ratios.redis ?? '-'}` +
      ' (Kong publishes about 0.88 for its rate limiting)',
  );
  const report = {
    kind: 'rate-limit',
    startedAt: new Date().toISOString(),
    machine,
    decisions: inProcess,
    http,
  };
  await writeAtomic(path.join(RESULTS_DIR, 'rate-limit-latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log('wrote bench/results/rate-limit-latest.json');
  return 0;
}
