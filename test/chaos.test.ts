/**
 * Chaos suite (Q30): the gateway against upstreams that fail, hang, reset connections, answer slowly
 * and flap, checking the promises of the resilience stack hold:
 * - nothing crashes: a healthy route beside the chaos keeps answering;
 * - every request gets exactly one complete answer (no hang, no truncated 200), within a bound set
 *   by the deadline;
 * - the circuit breaker opens under sustained failure and closes again once the upstream recovers.
 * Randomness is seeded, so a failure can be replayed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { startTestGateway } from './helpers/gateway.ts';
import { startUpstream } from './helpers/upstream.ts';

type Mode = 'chaos' | 'down' | 'healthy';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const BODY = Buffer.from(JSON.stringify({ ok: true, pad: 'x'.repeat(4000) }));
const DIGEST = createHash('sha256').update(BODY).digest('hex');

function ok(res: ServerResponse) {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
  res.end(BODY);
}

test('under failures, hangs, resets, slowness and flapping, every request gets one whole answer in bounded time', async (t) => {
  let mode: Mode = 'chaos';
  const random = seeded(42);
  const chaotic = await startUpstream(t, (req, res) => {
    if (mode === 'healthy') return ok(res);
    if (mode === 'down') {
      res.writeHead(503, { 'content-length': '4' });
      res.end('down');
      return;
    }
    const roll = random();
    if (roll < 0.2) {
      res.writeHead(500, { 'content-length': '4' });
      res.end('oops');
    } else if (roll < 0.3) {
      // hang: never answers (the per-try timeout must cut it)
    } else if (roll < 0.4) {
      req.socket.destroy(); // connection reset before any response
    } else if (roll < 0.5) {
      // A 200 whose body stops halfway: the client must not get a complete-looking 200.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.write(BODY.subarray(0, 1000));
      setTimeout(() => res.destroy(), 20);
    } else if (roll < 0.6) {
      setTimeout(() => ok(res), 150); // slow but fine
    } else {
      ok(res);
    }
  });
  const steady = await startUpstream(t, (_req, res) => ok(res));
  const gw = await startTestGateway(t, {
    observability: { logLevel: 'warn' },
    upstreams: {
      chaotic: {
        targets: [chaotic.url],
        timeouts: { idleMs: 1000 },
        resilience: {
          timeoutMs: 2000,
          retry: { attempts: 3, perTryTimeoutMs: 400, backoff: { baseMs: 10, capMs: 50 }, budget: false },
          circuitBreaker: { mode: 'consecutive', consecutiveFailures: 8, resetMs: 400 },
          bulkhead: { maxConcurrent: 32, maxQueue: 64, queueTimeoutMs: 2000 },
        },
      },
      steady: { targets: [steady.url] },
    },
    routes: [
      {
        name: 'chaotic',
        match: { path: '/chaotic/*' },
        proxy: { upstream: 'chaotic', stripPrefix: '/chaotic' },
      },
      { name: 'steady', match: { path: '/steady' }, proxy: { upstream: 'steady' } },
    ],
  });

  type Result = { status: number; ms: number; whole: boolean | undefined; error?: string };
  const call = async (path: string): Promise<Result> => {
    const started = Date.now();
    try {
      const res = await fetch(gw.url(path), { signal: AbortSignal.timeout(15_000) });
      const body = Buffer.from(await res.arrayBuffer());
      const whole =
        res.status === 200 ? createHash('sha256').update(body).digest('hex') === DIGEST : undefined;
      return { status: res.status, ms: Date.now() - started, whole };
    } catch (err) {
      // A cut connection is the honest answer to a body the upstream broke off after the head.
      return {
        status: 0,
        ms: Date.now() - started,
        whole: undefined,
        error: (err as Error).cause ? String((err as Error).cause) : String(err),
      };
    }
  };

  // Phase 1: chaos, 200 requests 10 at a time, with the steady route probed alongside.
  const results: Result[] = [];
  const steadyResults: Result[] = [];
  for (let batch = 0; batch < 20; batch++) {
    const round = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => call(`/chaotic/${batch}-${i}`)),
      call('/steady'),
    ]);
    steadyResults.push(round.pop()!);
    results.push(...round);
  }
  assert.equal(results.length, 200);
  for (const r of results) {
    assert.ok(r.ms < 8_000, `an answer took ${r.ms} ms`);
    if (r.status === 200) assert.equal(r.whole, true, 'a 200 always carries the whole body');
    else if (r.status !== 0)
      assert.ok([500, 502, 503, 504].includes(r.status), `unexpected status ${r.status}`);
  }
  assert.ok(
    results.filter((r) => r.status === 200).length > 100,
    'retries turn most of the chaos into answers',
  );
  assert.deepEqual(
    steadyResults.map((r) => r.status),
    Array(20).fill(200),
    'the steady route is untouched',
  );

  // Phase 2: the upstream goes down for good: the breaker opens and calls fail fast.
  mode = 'down';
  let circuitOpen = false;
  for (let i = 0; i < 40 && !circuitOpen; i++) {
    const res = await fetch(gw.url('/chaotic/x'));
    const body = (await res.json().catch(() => ({}))) as { code?: string };
    circuitOpen = body.code === 'circuit_open';
  }
  assert.ok(circuitOpen, 'the breaker opened');
  const fast = await call('/chaotic/x');
  assert.equal(fast.status, 503);

  // Phase 3: it recovers; flapping once on the way. The breaker half-opens and closes again.
  mode = 'healthy';
  const deadline = Date.now() + 10_000;
  let recovered = false;
  while (Date.now() < deadline && !recovered) {
    await new Promise((r) => setTimeout(r, 100));
    recovered = (await call('/chaotic/y')).status === 200;
  }
  assert.ok(recovered, 'requests succeed again after the reset time');
  mode = 'down';
  await call('/chaotic/flap');
  mode = 'healthy';
  const after = await Promise.all(Array.from({ length: 10 }, () => call('/chaotic/z')));
  assert.ok(after.filter((r) => r.status === 200).length >= 8, 'one flap does not take the route down again');
  assert.equal((await call('/steady')).status, 200);
});
