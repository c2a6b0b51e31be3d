import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UpstreamConfig } from '../config/schema.ts';
import { createMetrics } from '../core/metrics.ts';
import type { RequestContext } from '../core/policy.ts';
import { ManualClock, req } from './balancing/testing.ts';
import { buildUpstreams, closeUpstreams, createUpstream, targetId } from './upstreams.ts';

const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';

function config(over: Partial<UpstreamConfig> = {}): UpstreamConfig {
  return {
    targets: [A, B],
    pool: { connections: 4, keepAliveTimeoutMs: 4_000, pipelining: 1 },
    timeouts: { connectMs: 1_000, firstByteMs: 1_000, idleMs: 1_000 },
    balance: {
      strategy: 'round-robin',
      hashOn: { clientIp: true },
      cookie: { name: 'jx_affinity', secure: false },
    },
    ...over,
  };
}

/** Balancing reads only headers, client IP and slots. */
const ctx = req() as unknown as RequestContext;

test('a reload with unchanged settings keeps the upstream object, health state included', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  const first = buildUpstreams({ api: config() }, metrics, undefined);
  const second = buildUpstreams({ api: config() }, metrics, first.upstreams);
  t.after(() => closeUpstreams(second.upstreams.values()));
  assert.equal(second.upstreams.get('api'), first.upstreams.get('api'));
  assert.deepEqual(second.retired, []);
});

test('a reload that changes only balancing rebuilds the upstream but keeps its warm pools', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  const first = buildUpstreams({ api: config() }, metrics, undefined);
  const old = first.upstreams.get('api')!;
  const changed = config({ balance: { ...config().balance, strategy: 'least-request' } });
  const second = buildUpstreams({ api: changed }, metrics, first.upstreams);
  t.after(() => closeUpstreams(second.upstreams.values()));
  const next = second.upstreams.get('api')!;
  assert.notEqual(next, old);
  assert.deepEqual(second.retired, [old]);
  assert.equal(next.targets[0], old.targets[0]);
  await closeUpstreams(second.retired);
  assert.equal(next.targets[0]!.pool.closed, false, 'the adopted pool stays open');
  await closeUpstreams(second.upstreams.values());
  assert.equal(next.targets[0]!.pool.closed, true);
});

test('a reload that changes pool settings or targets builds new pools and closes the old', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  const first = buildUpstreams({ api: config() }, metrics, undefined);
  const old = first.upstreams.get('api')!;
  const second = buildUpstreams(
    { api: config({ targets: [A], pool: { connections: 8, keepAliveTimeoutMs: 4_000, pipelining: 1 } }) },
    metrics,
    first.upstreams,
  );
  t.after(() => closeUpstreams(second.upstreams.values()));
  const next = second.upstreams.get('api')!;
  assert.notEqual(next.targets[0], old.targets[0]);
  await closeUpstreams(second.retired);
  assert.deepEqual(
    old.targets.map((x) => x.pool.closed),
    [true, true],
  );
  assert.equal(next.targets[0]!.pool.closed, false);
});

test('snapshot reports each target with its health and load', async (t) => {
  const metrics = createMetrics({ defaultMetrics: false });
  const clock = new ManualClock();
  const outlierDetection = {
    consecutiveFailures: 1,
    ejectionMs: 5_000,
    maxEjectionMs: 60_000,
    maxEjectionPercent: 50,
  };
  const up = createUpstream('api', config({ outlierDetection }), metrics, { clock });
  t.after(() => up.close());
  const target = up.pick(ctx)!.target;
  up.sent(target);
  up.sent(target);
  up.done(target, true);
  assert.deepEqual(up.snapshot(), [
    {
      id: targetId(A),
      origin: A,
      healthy: false,
      ejectedUntil: clock.now() + 5_000,
      consecutiveFailures: 0,
      inflight: 1,
      requestsSent: 2,
      connectionsOpened: 0,
    },
    {
      id: targetId(B),
      origin: B,
      healthy: true,
      consecutiveFailures: 0,
      inflight: 0,
      requestsSent: 0,
      connectionsOpened: 0,
    },
  ]);
});

test('close() stops the health checks and is idempotent', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const clock = new ManualClock();
  let probes = 0;
  const healthCheck = {
    path: '/health',
    intervalMs: 1_000,
    timeoutMs: 500,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    expectStatus: ['200-399'],
  };
  const up = createUpstream('api', config({ healthCheck }), metrics, {
    clock,
    probe: async () => {
      probes++;
      return 200;
    },
  });
  await clock.advance(2_500);
  assert.equal(probes, 6);
  await Promise.all([up.close(), up.close()]);
  await clock.advance(10_000);
  assert.equal(probes, 6);
  assert.equal(clock.pending, 0);
});
