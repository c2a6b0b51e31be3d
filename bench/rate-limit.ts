/**
 * `npm run bench -- rate-limit`: what core.rate-limit costs.
 *
 * 1. Decisions per second of each algorithm in process (no HTTP): the memory backend in a tight
 *    loop, and the Redis backend with 64 decisions in flight (a busy gateway's shape: ioredis
 *    pipelines them on one connection), plus its one-at-a-time latency.
 * 2. Requests per second through Junction: a plain route, the same route with a Redis rate limit
 *    and with an in-memory one (limits high enough never to refuse), reported as ratios to plain.
 *
 * About 40 s on a 2-core machine. Needs Redis on 127.0.0.1:6379 (or JUNCTION_REDIS_URL) for the
 * Redis figures; without it they are reported as skipped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import {
  type Backend,
  compileLimits,
  type Item,
  MemoryBackend,
  RedisBackend,
} from '../src/ingress/policies/rate-limit/index.ts';
import { Child } from './lib/children.ts';
import { ROOT, startJunction } from './lib/junction.ts';
import { type LoadResult, pickLoadGenerator } from './lib/load.ts';
import { machineInfo, RESULTS_DIR, writeAtomic } from './lib/report.ts';

const REDIS_URL = process.env.JUNCTION_REDIS_URL || 'redis://127.0.0.1:6379';
const ALGORITHMS = ['sliding-window', 'sliding-log', 'gcra'] as const;
const KEYS = 1000;

async function redisUp(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function items(algorithm: (typeof ALGORITHMS)[number]): Item[][] {
  // High enough never to refuse: what is measured is the bookkeeping, not the 429 path.
  const [limit] = compileLimits(
    [{ algorithm, limit: 1_000_000, windowMs: 1000, key: 'ip', missingKey: 'ip' }],
    'bench',
    1,
  );
  return Array.from({ length: KEYS }, (_, i) => [{ limit: limit!, key: `10.0.${i >> 8}.${i & 255}` }]);
}

function memoryRate(algorithm: (typeof ALGORITHMS)[number], ms: number): number {
  const backend = new MemoryBackend({ maxKeys: 100_000 });
  const all = items(algorithm);
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) backend.decide(all[n++ % KEYS]!);
  }
  return n / (ms / 1000);
}

async function redisRate(backend: Backend, algorithm: (typeof ALGORITHMS)[number], ms: number) {
  const all = items(algorithm);
  let n = 0;
  const end = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < end) await backend.decide(all[n++ % KEYS]!);
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const perSecond = n / (ms / 1000);
  // One at a time: the latency a single request adds.
  const samples = 500;
  const started = performance.now();
  for (let i = 0; i < samples; i++) await backend.decide(all[i % KEYS]!);
  const latencyUs = ((performance.now() - started) / samples) * 1000;
  return { perSecond, latencyUs };
}

async function decisions(ms: number, withRedis: boolean) {
  const out: Record<string, Record<string, number | string>> = {};
  const prefix = `junction:rl:bench:${randomBytes(4).toString('hex')}:`;
  const redis = withRedis
    ? new RedisBackend({ url: REDIS_URL, keyPrefix: prefix, timeoutMs: 5000 })
    : undefined;
  try {
    for (const algorithm of ALGORITHMS) {
      const memory = memoryRate(algorithm, ms);
      const row: Record<string, number | string> = { memoryPerSecond: Math.round(memory) };
      if (redis) {
        const r = await redisRate(redis, algorithm, ms);
        row.redisPerSecond = Math.round(r.perSecond);
        row.redisLatencyUs = Math.round(r.latencyUs);
      } else {
        row.redis = 'skipped: no Redis';
      }
      out[algorithm] = row;
      console.log(
        `${algorithm.padEnd(15)} memory ${Math.round(memory).toLocaleString('en')} decisions/s` +
          (redis
            ? `; redis ${Number(row.redisPerSecond).toLocaleString('en')} decisions/s (64 in flight), ` +
              `${row.redisLatencyUs} µs each one at a time`
            : '; redis skipped'),
      );
    }
  } finally {
    if (redis) {
      const keys = await redis.client.keys(`${prefix}*`);
      for (let i = 0; i < keys.length; i += 1000) await redis.client.del(...keys.slice(i, i + 1000));
      await redis.close();
    }
  }
  return out;
}

const noDefaults = { 'core.access-log': false, 'core.metrics': false, 'core.tracing': false };

async function throughput(durationS: number, warmupS: number, connections: number, withRedis: boolean) {
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
      for (const route of ['plain', 'memory', 'redis']) {
        if (route === 'redis' && !withRedis) {
          results[route] = 'skipped: no Redis';
          continue;
        }
        const url = `${junction.proxyOrigin}/${route}/x`;
        const check = await fetch(url);
        await check.arrayBuffer();
        if (check.status !== 200 || !(route === 'plain' || check.headers.has('ratelimit')))
          throw new Error(`GET ${url} answered ${check.status} without the expected headers`);
        if (warmupS > 0) await load.run(url, { connections, durationS: warmupS });
        const r = await load.run(url, { connections, durationS });
        results[route] = r;
        console.log(
          `${route.padEnd(7)} ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms, non-2xx ${r.non2xx}`,
        );
      }
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
      duration: { type: 'string', default: '5' },
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
    `\nthrough Junction (${values.connections} connections, ${values.warmup} s warmup + ${values.duration} s):`,
  );
  const http = await throughput(
    Number(values.duration),
    Number(values.warmup),
    Number(values.connections),
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
