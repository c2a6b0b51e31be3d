/**
 * `core.rate-limit` end to end: the answers a client sees (headers on every response, 429 problem
 * documents), metrics, and the Redis backend losing its server and getting it back without a
 * restart (through a TCP proxy the test stops and starts). Needs Redis on 127.0.0.1:6379; each test
 * uses its own key prefix and deletes its keys.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';
import { startUpstream } from './helpers/upstream.ts';

async function gateway(t: TestContext, policy: Record<string, unknown>): Promise<TestGateway> {
  const up = await startUpstream(t);
  return startTestGateway(t, {
    upstreams: { api: { targets: [up.url] } },
    routes: [
      {
        name: 'orders',
        match: { path: '/orders' },
        proxy: { upstream: 'api' },
        policies: { 'core.rate-limit': policy },
      },
      { name: 'free', match: { path: '/free' }, proxy: { upstream: 'api' } },
    ],
  });
}

async function redisPrefix(t: TestContext): Promise<string> {
  const prefix = `junction:rl:e2e:${randomBytes(6).toString('hex')}:`;
  t.after(async () => {
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  return prefix;
}

test('every answer of a limited route carries RateLimit-Policy and RateLimit; the refusal is a 429 problem', async (t) => {
  const gw = await gateway(t, {
    limits: [
      { name: 'per-second', limit: 100, windowMs: 1000 },
      { name: 'per-hour', limit: 3, windowMs: 3_600_000, algorithm: 'sliding-log' },
    ],
  });
  const seen: [number, string | null][] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(gw.url('/orders'));
    await res.arrayBuffer();
    assert.equal(res.headers.get('ratelimit-policy'), '"per-second";q=100;w=1, "per-hour";q=3;w=3600');
    seen.push([res.status, res.headers.get('ratelimit')]);
  }
  // The hourly limit is the tighter one from the start.
  assert.deepEqual(seen, [
    [200, '"per-hour";r=2;t=3600'],
    [200, '"per-hour";r=1;t=3600'],
    [200, '"per-hour";r=0;t=3600'],
    [429, '"per-hour";r=0;t=3600'],
  ]);
  const res = await fetch(gw.url('/orders'), { headers: { accept: 'application/json' } });
  assert.equal(res.status, 429);
  assert.match(res.headers.get('content-type')!, /^application\/problem\+json/);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(retryAfter > 3590 && retryAfter <= 3600, String(retryAfter));
  const problem = (await res.json()) as Record<string, unknown>;
  assert.equal(problem.code, 'rate_limited');
  assert.equal(problem.status, 429);
  assert.equal(problem.limit, 'per-hour');
  assert.match(String(problem.type), /docs\/errors\.md#rate_limited$/);
  // A route without the policy has no such headers.
  const free = await fetch(gw.url('/free'));
  await free.arrayBuffer();
  assert.equal(free.headers.get('ratelimit-policy'), null);
  const metrics = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  assert.match(metrics, /^junction_rate_limit_decisions_total\{route="orders",result="allowed"\} 3$/m);
  assert.match(metrics, /^junction_rate_limit_decisions_total\{route="orders",result="limited"\} 2$/m);
});

test('limits keyed by a header and the client address count each tenant apart', async (t) => {
  const gw = await gateway(t, {
    limits: [{ limit: 2, windowMs: 60_000, algorithm: 'gcra', key: ['ip', { header: 'x-tenant' }] }],
  });
  const status = async (tenant: string) => {
    const res = await fetch(gw.url('/orders'), { headers: { 'x-tenant': tenant } });
    await res.arrayBuffer();
    return res.status;
  };
  assert.deepEqual(
    [await status('a'), await status('a'), await status('a'), await status('b')],
    [200, 200, 429, 200],
  );
});

test('Redis going away fails closed at once, and decisions resume when it is back, without a restart', async (t) => {
  const proxy = await startTcpProxy(t, 6379);
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { api: { targets: [up.url] } },
    redis: { url: `redis://127.0.0.1:${proxy.port}` },
    routes: [
      {
        name: 'orders',
        match: { path: '/orders' },
        proxy: { upstream: 'api' },
        policies: {
          'core.rate-limit': {
            limits: [{ limit: 1000, windowMs: 1000 }],
            backend: {
              kind: 'redis',
              keyPrefix: await redisPrefix(t),
              timeoutMs: 500,
              onRedisError: 'closed',
            },
          },
        },
      },
    ],
  });
  const status = async () => {
    const res = await fetch(gw.url('/orders'));
    await res.arrayBuffer();
    return res.status;
  };
  assert.equal(await status(), 200);
  await proxy.stop();
  const started = performance.now();
  assert.equal(await status(), 503);
  assert.equal(await status(), 503);
  // Refused without waiting for the timeout: the connection is known to be down.
  assert.ok(performance.now() - started < 1000);
  await proxy.start();
  const deadline = Date.now() + 10_000;
  let last = await status();
  while (last !== 200 && Date.now() < deadline) {
    await sleep(50);
    last = await status();
  }
  assert.equal(last, 200, 'decisions resume once Redis is reachable again');
  const metrics = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  assert.match(metrics, /^junction_rate_limit_backend_errors_total\{route="orders"\} [1-9]\d*$/m);
  assert.match(
    metrics,
    /^junction_rate_limit_decisions_total\{route="orders",result="error_closed"\} [1-9]\d*$/m,
  );
});
