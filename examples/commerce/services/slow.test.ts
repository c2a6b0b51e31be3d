import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { start } from './slow.ts';

async function startSlow(t: TestContext) {
  const slow = await start({ port: 0 });
  t.after(() => slow.close());
  const stats = async () => (await (await fetch(`${slow.url}/_stats`)).json()) as Record<string, number>;
  return { ...slow, stats };
}

/** Polls the stats until `check` holds (a fixed pause may end before the requests arrive, or after they ended). */
async function statsWhen(
  stats: () => Promise<Record<string, number>>,
  check: (s: Record<string, number>) => boolean,
): Promise<Record<string, number>> {
  const until = Date.now() + 10_000;
  for (;;) {
    const s = await stats();
    if (check(s) || Date.now() > until) return s;
    await sleep(10);
  }
}

test('holds /slow?ms=N open at least N ms, then answers', async (t) => {
  const { url } = await startSlow(t);
  const started = performance.now();
  const res = await fetch(`${url}/slow?ms=250`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { heldMs: 250 });
  assert.ok(performance.now() - started >= 250);
});

test('holds requests concurrently and counts how many are held', async (t) => {
  const { url, stats } = await startSlow(t);
  // Held 3 s and waited for rather than looked at after 100 ms: the four must all have arrived, and
  // none been answered yet, when the count is read (with 300 ms, a slow machine missed either way).
  const calls = Array.from({ length: 4 }, () => fetch(`${url}/slow?ms=3000`).then((r) => r.json()));
  assert.equal((await statsWhen(stats, (s) => s.inFlight === 4)).inFlight, 4);
  assert.equal((await stats()).served, 0, 'all four held at once');
  await Promise.all(calls);
  assert.deepEqual(await stats(), { inFlight: 0, maxInFlight: 4, served: 4 });
});

test('the default hold is 2000 ms', async (t) => {
  const { url } = await startSlow(t);
  await assert.rejects(fetch(`${url}/slow`, { signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' });
});

test('a client that leaves releases its slot', async (t) => {
  const { url, stats } = await startSlow(t);
  // The client leaves once the service holds its request (a 100 ms timeout could fire before the
  // request arrived), and the slot is checked once the service has seen it go (not after 50 ms).
  const leaving = new AbortController();
  const call = fetch(`${url}/slow?ms=10000`, { signal: leaving.signal });
  await statsWhen(stats, (s) => s.inFlight === 1);
  leaving.abort();
  await assert.rejects(call);
  await statsWhen(stats, (s) => s.inFlight === 0);
  assert.deepEqual(await stats(), { inFlight: 0, maxInFlight: 1, served: 0 });
});

test('refuses a malformed or out-of-range ms', async (t) => {
  const { url } = await startSlow(t);
  for (const ms of ['abc', '-1', '1.5', '600001']) {
    const res = await fetch(`${url}/slow?ms=${ms}`);
    assert.equal(res.status, 400, ms);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_ms');
  }
});

test('/health answers at once', async (t) => {
  const { url } = await startSlow(t);
  assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'ok' });
});
