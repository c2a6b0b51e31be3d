import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { noAudit } from '../../../core/audit.ts';
import { isJunctionError } from '../../../core/errors.ts';
import { Snowflake } from '../../../core/ids.ts';
import { createLogger } from '../../../core/logger.ts';
import { createMetrics } from '../../../core/metrics.ts';
import type { RequestContext } from '../../../core/policy.ts';
import type { Services } from '../../../core/services.ts';
import { closeRateLimitBackends, MemoryBackend, rateLimit, rateLimitPolicy } from './index.ts';
import { compileLimits } from './limits.ts';
import { rateLimitSchema } from './schema.ts';

function setup(t: TestContext, redisUrl?: string) {
  const services: Services = {
    logger: createLogger({ level: 'silent' }),
    accessLogger: createLogger({ level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }),
    ids: new Snowflake({ nodeId: 1 }),
    spans: undefined,
    audit: noAudit,
    redisUrl,
  };
  t.after(() => closeRateLimitBackends(services));
  return { services, env: { routeName: 'orders', services } };
}

const config = (c: unknown) =>
  Value.Default(rateLimitSchema, structuredClone(c)) as Parameters<typeof rateLimitPolicy>[0];

function request(ip = '198.51.100.1') {
  return {
    clientIp: ip,
    routeName: 'orders',
    headers: {},
    slots: {},
    responseHeaders: {} as Record<string, string>,
  } as unknown as RequestContext;
}

async function scrape(services: Services, name: string): Promise<string[]> {
  return (await services.metrics.registry.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`));
}

test('in memory the decision is synchronous, and the third request of 2/min is a 429 with Retry-After', async (t) => {
  const { env, services } = setup(t);
  const p = rateLimitPolicy(
    config({ limits: [{ name: 'per-minute', limit: 2, windowMs: 60_000, algorithm: 'sliding-log' }] }),
    env,
  );
  const first = request();
  assert.equal(p.onRequest!(first), undefined);
  assert.deepEqual(first.responseHeaders, {
    'ratelimit-policy': '"per-minute";q=2;w=60',
    ratelimit: '"per-minute";r=1;t=60',
  });
  assert.equal(p.onRequest!(request()), undefined);
  const third = request();
  assert.throws(
    () => p.onRequest!(third),
    (err: unknown) => {
      assert.ok(isJunctionError(err));
      assert.equal(err.code, 'rate_limited');
      assert.equal(err.status, 429);
      assert.equal(err.headers?.['retry-after'], '60');
      assert.equal(err.extensions?.limit, 'per-minute');
      return true;
    },
  );
  assert.equal(third.responseHeaders.ratelimit, '"per-minute";r=0;t=60');
  // Another client has its own count.
  assert.equal(p.onRequest!(request('198.51.100.2')), undefined);
  assert.deepEqual(await scrape(services, 'junction_rate_limit_decisions_total'), [
    'junction_rate_limit_decisions_total{route="orders",result="allowed"} 3',
    'junction_rate_limit_decisions_total{route="orders",result="limited"} 1',
  ]);
});

test('a reload keeps the counts: policies built again share the backend', (t) => {
  const { env } = setup(t);
  const c = config({ limits: [{ limit: 1, windowMs: 60_000 }] });
  assert.equal(rateLimitPolicy(c, env).onRequest!(request()), undefined);
  assert.throws(() => rateLimitPolicy(c, env).onRequest!(request()), { code: 'rate_limited' });
});

test('routes with one scope share counters; other routes keep their own', (t) => {
  const { env } = setup(t);
  const c = config({ limits: [{ limit: 1, windowMs: 60_000 }], scope: 'partner-api' });
  assert.equal(rateLimitPolicy(c, env).onRequest!(request()), undefined);
  assert.throws(() => rateLimitPolicy(c, { ...env, routeName: 'users' }).onRequest!(request()), {
    code: 'rate_limited',
  });
  const own = config({ limits: [{ limit: 1, windowMs: 60_000 }] });
  assert.equal(rateLimitPolicy(own, { ...env, routeName: 'users' }).onRequest!(request()), undefined);
});

test('the memory backend holds at most maxKeys keys, dropping the least recently used', () => {
  const backend = new MemoryBackend({ maxKeys: 100 });
  const [l] = compileLimits(
    [{ algorithm: 'gcra', limit: 1, windowMs: 60_000, key: 'ip', missingKey: 'ip' }],
    's',
    1,
  );
  for (let i = 0; i < 10_000; i++) backend.decide([{ limit: l!, key: `10.0.${i >> 8}.${i & 255}` }]);
  assert.equal(backend.size, 100);
});

test('a redis backend needs a url from the policy, redis.url or JUNCTION_REDIS_URL', (t) => {
  const { env } = setup(t);
  assert.throws(
    () =>
      rateLimitPolicy(config({ limits: [{ limit: 1, windowMs: 1000 }], backend: { kind: 'redis' } }), env),
    {
      code: 'config_invalid',
      message: /route orders: core.rate-limit backend redis needs a url/,
    },
  );
});

for (const [mode, expect] of [
  ['local', 'third refused'],
  ['open', 'all pass'],
  ['closed', 'all 503'],
] as const) {
  test(`with Redis unreachable and onRedisError ${mode}: ${expect}, each counted as a backend error`, async (t) => {
    const { env, services } = setup(t, 'redis://127.0.0.1:1');
    const p = rateLimitPolicy(
      config({
        limits: [{ limit: 4, windowMs: 60_000 }],
        backend: { kind: 'redis', onRedisError: mode, fallbackNodes: 2, timeoutMs: 200 },
      }),
      env,
    );
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      try {
        await p.onRequest!(request());
        outcomes.push('pass');
      } catch (err) {
        outcomes.push(isJunctionError(err) ? `${err.status} ${err.code}` : String(err));
      }
    }
    const expected = {
      // 4 per minute over 2 expected nodes: 2 per node while Redis is away.
      local: ['pass', 'pass', '429 rate_limited'],
      open: ['pass', 'pass', 'pass'],
      closed: ['503 rate_limit_unavailable', '503 rate_limit_unavailable', '503 rate_limit_unavailable'],
    }[mode];
    assert.deepEqual(outcomes, expected);
    assert.deepEqual(await scrape(services, 'junction_rate_limit_backend_errors_total'), [
      'junction_rate_limit_backend_errors_total{route="orders"} 3',
    ]);
  });
}

test('the schema fills defaults and refuses unknown or out-of-range settings', () => {
  const check = Compile(rateLimitSchema);
  assert.deepEqual(config({ limits: [{ limit: 10, windowMs: 1000 }], backend: { kind: 'redis' } }), {
    limits: [{ algorithm: 'sliding-window', limit: 10, windowMs: 1000, key: 'ip', missingKey: 'ip' }],
    backend: {
      kind: 'redis',
      keyPrefix: 'junction:rl:',
      timeoutMs: 50,
      onRedisError: 'local',
      fallbackNodes: 1,
      maxKeys: 100_000,
    },
    headers: true,
  });
  for (const bad of [
    { limits: [] },
    { limits: [{ limit: 0, windowMs: 1000 }] },
    { limits: [{ limit: 1, windowMs: 1000, algorithm: 'fixed-window' }] },
    { limits: [{ limit: 1, windowMs: 1000, key: 'cookie' }] },
    { limits: [{ limit: 1, windowMs: 1000, key: { header: 'bad header' } }] },
    { limits: [{ limit: 1, windowMs: 1000, name: 'has"quote' }] },
    { limits: [{ limit: 1, windowMs: 1000 }], backend: { kind: 'redis', onRedisError: 'maybe' } },
    { limits: [{ limit: 1, windowMs: 1000 }], extra: true },
  ]) {
    assert.equal(check.Check(config(bad)), false, JSON.stringify(bad));
  }
  assert.equal(rateLimit.name, 'core.rate-limit');
});
