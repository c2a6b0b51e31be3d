/**
 * The in-process half of `npm run bench -- rate-limit`: decisions per second of each algorithm with
 * no HTTP around them — the memory backend in a tight loop, the Redis backend with 64 decisions in
 * flight (a busy gateway's shape: they share script calls), and its one-at-a-time latency.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  compileLimits,
  type Item,
  MemoryBackend,
  RedisBackend,
} from '../src/ingress/policies/rate-limit/index.ts';

export const REDIS_URL = process.env.JUNCTION_REDIS_URL || 'redis://127.0.0.1:6379';
const ALGORITHMS = ['sliding-window', 'sliding-log', 'gcra'] as const;
const KEYS = 1000;

export async function redisUp(): Promise<boolean> {
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

/** Redis's own account of the script: total µs and calls (INFO commandstats), for the CPU per decision. */
async function scriptStats(redis: Redis): Promise<{ usec: number; calls: number }> {
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis.info('commandstats'));
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

async function redisRate(backend: RedisBackend, algorithm: (typeof ALGORITHMS)[number], ms: number) {
  const all = items(algorithm);
  let n = 0;
  const before = await scriptStats(backend.client);
  const end = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < end) await backend.decide(all[n++ % KEYS]!);
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const perSecond = n / (ms / 1000);
  // Another client's scripts in the same interval would count too: run on a quiet Redis.
  const after = await scriptStats(backend.client);
  const redisUsPerDecision = (after.usec - before.usec) / n;
  const perCall = n / Math.max(1, after.calls - before.calls);
  // One at a time: the latency a single request adds.
  const samples = 500;
  const started = performance.now();
  for (let i = 0; i < samples; i++) await backend.decide(all[i % KEYS]!);
  const latencyUs = ((performance.now() - started) / samples) * 1000;
  return { perSecond, latencyUs, redisUsPerDecision, perCall };
}

export async function decisions(ms: number, withRedis: boolean) {
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
        row.redisCpuUsPerDecision = Number(r.redisUsPerDecision.toFixed(2));
        row.decisionsPerScriptCall = Math.round(r.perCall);
      } else {
        row.redis = 'skipped: no Redis';
      }
      out[algorithm] = row;
      console.log(
        `${algorithm.padEnd(15)} memory ${Math.round(memory).toLocaleString('en')} decisions/s` +
          (redis
            ? `; redis ${Number(row.redisPerSecond).toLocaleString('en')} decisions/s (64 in flight, ` +
              `${row.decisionsPerScriptCall} per script call, ${row.redisCpuUsPerDecision} µs of Redis CPU each), ` +
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
