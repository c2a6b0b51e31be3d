/**
 * The Lua script against the TypeScript algorithms: the same scripted clock through the memory
 * backend and through Redis (127.0.0.1:6379, own key prefix, removed afterwards) must give the same
 * answers, request by request.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import type { Item } from './backend.ts';
import { compileLimits } from './limits.ts';
import { MemoryBackend } from './memory-backend.ts';
import { RedisBackend } from './redis-backend.ts';
import type { LimitConfig } from './schema.ts';

const URL = process.env.JUNCTION_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function limit(l: Partial<LimitConfig> & Pick<LimitConfig, 'limit' | 'windowMs'>): LimitConfig {
  return { algorithm: 'sliding-window', key: 'ip', missingKey: 'ip', ...l };
}

function redis(t: TestContext, clock?: () => number) {
  const keyPrefix = `junction:rl:test:${randomBytes(6).toString('hex')}:`;
  const backend = new RedisBackend({ url: URL, keyPrefix, timeoutMs: 2000, clock });
  t.after(async () => {
    const keys = await backend.client.keys(`${keyPrefix}*`);
    if (keys.length > 0) await backend.client.del(...keys);
    await backend.close();
  });
  return Object.assign(backend, { keyPrefix });
}

/** mulberry32, so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const algorithm of ['sliding-log', 'sliding-window', 'gcra'] as const) {
  test(`${algorithm}: Redis gives the answers of the in-memory algorithm, request by request`, async (t) => {
    let now = 1_750_000_000_000;
    const clock = () => now;
    const r = redis(t, clock);
    const m = new MemoryBackend({ maxKeys: 100, clock });
    const limits = compileLimits(
      [
        limit({ algorithm, limit: 5, windowMs: 1000, burst: 3 }),
        limit({ algorithm, limit: 12, windowMs: 5000 }),
      ],
      'parity',
      1,
    );
    const random = seeded(7);
    for (let i = 0; i < 300; i++) {
      now += random() < 0.3 ? 0 : Math.floor(random() * 250);
      const key = random() < 0.8 ? 'a' : 'b';
      const items: Item[] = limits.map((l) => ({ limit: l, key }));
      assert.deepEqual(await r.decide(items), m.decide(items), `request ${i} at ${now}`);
    }
  });
}

test('a request refused by one limit is not counted by the others (one script, check then commit)', async (t) => {
  const now = 1_750_000_000_000;
  const r = redis(t, () => now);
  const [tight, loose] = compileLimits(
    [
      limit({ name: 'tight', limit: 1, windowMs: 60_000 }),
      limit({ name: 'loose', limit: 3, windowMs: 60_000, algorithm: 'sliding-log' }),
    ],
    'atomic',
    1,
  );
  const items = [
    { limit: tight!, key: 'k' },
    { limit: loose!, key: 'k' },
  ];
  assert.deepEqual(
    (await r.decide(items)).map((d) => [d.allowed, d.remaining]),
    [
      [true, 0],
      [true, 2],
    ],
  );
  for (let i = 0; i < 5; i++) {
    const [a, b] = await r.decide(items);
    assert.equal(a!.allowed, false);
    // `loose` still had room and says so; it recorded nothing.
    assert.deepEqual([b!.allowed, b!.remaining], [true, 1]);
  }
  assert.equal(await r.client.zcard(`${r.keyPrefix}${loose!.id}:k`), 1);
});

test('a flushed script cache costs one EVAL, not a failed decision', async (t) => {
  const r = redis(t);
  const [l] = compileLimits([limit({ limit: 10, windowMs: 1000, algorithm: 'gcra' })], 'noscript', 1);
  assert.equal((await r.decide([{ limit: l!, key: 'x' }]))[0]!.allowed, true);
  await r.client.script('FLUSH');
  const [d] = await r.decide([{ limit: l!, key: 'x' }]);
  assert.deepEqual([d!.allowed, d!.remaining], [true, 8]);
  assert.ok(d!.resetMs > 100 && d!.resetMs <= 200, String(d!.resetMs));
});

test('on Redis TIME, a sliding log admits the limit and tells how long until the oldest leaves', async (t) => {
  const r = redis(t);
  const [l] = compileLimits([limit({ limit: 3, windowMs: 2000, algorithm: 'sliding-log' })], 'time', 1);
  const item = [{ limit: l!, key: 'x' }];
  for (let i = 0; i < 3; i++) assert.equal((await r.decide(item))[0]!.allowed, true);
  const [d] = await r.decide(item);
  assert.equal(d!.allowed, false);
  assert.ok(d!.retryAfterMs > 1500 && d!.retryAfterMs <= 2000, String(d!.retryAfterMs));
});

test('an unreachable Redis fails the decision within the timeout', async (t) => {
  const backend = new RedisBackend({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:', timeoutMs: 100 });
  t.after(() => backend.close());
  const [l] = compileLimits([limit({ limit: 1, windowMs: 1000 })], 'down', 1);
  const started = performance.now();
  await assert.rejects(backend.decide([{ limit: l!, key: 'k' }]));
  assert.ok(performance.now() - started < 1000);
});

test('a Redis that accepts but never answers fails the decision after timeoutMs', async (t) => {
  const held = new Set<Socket>();
  const silent = createServer((s) => held.add(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of held) s.destroy();
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const backend = new RedisBackend({ url: `redis://127.0.0.1:${port}`, keyPrefix: 'x:', timeoutMs: 80 });
  t.after(() => backend.close());
  const [l] = compileLimits([limit({ limit: 1, windowMs: 1000 })], 'silent', 1);
  const started = performance.now();
  await assert.rejects(backend.decide([{ limit: l!, key: 'k' }]), /timed out/);
  const took = performance.now() - started;
  assert.ok(took >= 70 && took < 2000, `${took} ms`);
});

test('requests decided in one turn share one script call and are decided in order, each seeing the last', async (t) => {
  let now = 1_750_000_000_000;
  const clock = () => now;
  const r = redis(t, clock);
  const m = new MemoryBackend({ maxKeys: 100, clock });
  const limits = compileLimits(
    [
      limit({ name: 'log', algorithm: 'sliding-log', limit: 7, windowMs: 1000 }),
      limit({ name: 'bucket', algorithm: 'gcra', limit: 9, windowMs: 1000, burst: 4 }),
      limit({ name: 'window', limit: 8, windowMs: 1000 }),
    ],
    'batch',
    1,
  );
  const calls = t.mock.method(r.client, 'evalsha');
  for (let round = 0; round < 5; round++) {
    const batch = Array.from({ length: 12 }, (_, i) =>
      limits.slice(i % 3).map((l) => ({ limit: l, key: `k${i % 2}` })),
    );
    const fromRedis = await Promise.all(batch.map((items) => r.decide(items)));
    assert.deepEqual(
      fromRedis,
      batch.map((items) => m.decide(items)),
      `round ${round}`,
    );
    now += 300;
  }
  assert.equal(calls.mock.callCount(), 5, 'one script call per round of twelve requests');
});
