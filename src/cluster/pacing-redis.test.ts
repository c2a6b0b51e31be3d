/**
 * The Redis pacing schedule against a real Redis on 127.0.0.1:6379, each test under its own key
 * (deleted afterwards). Two connections stand for two gateway nodes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import { type PacingStore, type Reservation, systemClock } from '../resilience/index.ts';
import { connectPacingRedis, createRedisPacingStore } from './pacing-redis.ts';

const URL = 'redis://127.0.0.1:6379';

function nodes(t: TestContext, count: number): PacingStore[] {
  const key = `junction-test:pacing:${randomBytes(6).toString('hex')}`;
  const clients = Array.from({ length: count }, () => new Redis(URL));
  t.after(async () => {
    await clients[0]!.del(key);
    for (const c of clients) c.disconnect();
  });
  return clients.map((client) => createRedisPacingStore({ client, key, clock: systemClock }));
}

// Slots 10 s apart: the real time that passes between calls (a loaded machine) is small beside it,
// so a wait divided by T and rounded names its slot.
const T = { intervalMs: 10_000, toleranceMs: 0, maxWaitMs: 1_000_000 };

function slotOf(r: Reservation): number {
  return Math.round(r.waitMs / T.intervalMs);
}

test('two nodes reserving at once get distinct slots T apart: the reservation is atomic', async (t) => {
  const [a, b] = nodes(t, 2);
  const all = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).reserve(T)));
  assert.deepEqual(
    all.map(slotOf).sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
});

test('a slot beyond maxWaitMs is refused and not reserved', async (t) => {
  const [a] = nodes(t, 1);
  for (let i = 0; i < 5; i++) assert.ok((await a!.reserve(T)).ok);
  const refused = await a!.reserve({ ...T, maxWaitMs: 30_000 });
  assert.equal(refused.ok, false);
  assert.equal(slotOf(refused), 5);
  assert.equal(slotOf(await a!.reserve(T)), 5, 'the refused call took no slot');
});

test('release gives back the last slot only', async (t) => {
  const [a, b] = nodes(t, 2);
  const first = await a!.reserve(T);
  assert.ok(first.ok && (await b!.reserve(T)).ok);
  await a!.release(first.token, T.intervalMs);
  const third = await a!.reserve(T);
  assert.ok(third.ok);
  assert.equal(slotOf(third), 2, 'an earlier slot is not reused');
  await a!.release(third.token, T.intervalMs);
  assert.equal(slotOf(await b!.reserve(T)), 2, 'the last one is');
});

test('a throttle on one node pauses the other and raises the shared epoch once per epoch', async (t) => {
  const [a, b] = nodes(t, 2);
  const r = await a!.reserve(T);
  assert.ok(r.ok);
  assert.equal(r.epoch, 0);
  const first = await a!.throttle({ epoch: 0, pauseMs: 60_000, decrease: true });
  const second = await b!.throttle({ epoch: 0, pauseMs: 500, decrease: true });
  assert.equal(first.epoch, 1);
  assert.equal(second.epoch, 1, 'the same congestion event');
  assert.ok(second.pausedMs > 50_000, 'a shorter pause does not shorten it');
  assert.ok((await b!.pausedMs()) > 50_000);
  const afterPause = await b!.reserve(T);
  assert.equal(slotOf(afterPause), 6, 'the next slot is after the pause');
  assert.equal(afterPause.epoch, 1);
});

test('with Redis unreachable, the node paces alone and says so', async (t) => {
  const errors: unknown[] = [];
  const client = connectPacingRedis('redis://127.0.0.1:1', 2_000, () => {});
  t.after(() => client.disconnect());
  const store = createRedisPacingStore({
    client,
    key: 'junction-test:pacing:down',
    clock: systemClock,
    onError: (err) => errors.push(err),
  });
  const first = await store.reserve(T);
  const started = Date.now();
  const second = await store.reserve(T);
  assert.deepEqual([slotOf(first), slotOf(second)], [0, 1], 'the local schedule keeps the spacing');
  assert.ok(Date.now() - started < 1_000, 'once Redis failed, calls do not wait out its timeout');
  assert.equal(errors.length, 2);
});
