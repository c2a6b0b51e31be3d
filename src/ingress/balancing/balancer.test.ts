import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { type BalancingConfig, createBalancer } from './balancer.ts';
import { fakeTargets, ManualClock, req } from './testing.ts';

const base: BalancingConfig = {
  balance: {
    strategy: 'round-robin',
    hashOn: { clientIp: true },
    cookie: { name: 'jx_affinity', secure: false },
  },
};
const outlierDetection = {
  consecutiveFailures: 2,
  ejectionMs: 1_000,
  maxEjectionMs: 10_000,
  maxEjectionPercent: 100,
};
const healthCheck = {
  path: '/health',
  intervalMs: 100,
  timeoutMs: 50,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
  expectStatus: ['200-399'],
};

async function metric(
  registry: Registry,
  name: string,
): Promise<{ labels: Record<string, unknown>; value: number }[]> {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []) as { labels: Record<string, unknown>; value: number }[];
}

test('an ejected target leaves the rotation until its ejection ends; all ejected means no pick', async (t) => {
  const clock = new ManualClock();
  const registry = new Registry();
  const [a, b] = fakeTargets(2);
  const bal = createBalancer({
    upstream: 'api',
    targets: [a!, b!],
    config: { ...base, outlierDetection },
    clock,
    registry,
  });
  t.after(() => bal.close());
  bal.done(a!, true);
  bal.done(a!, true);
  assert.deepEqual(bal.health(a!), {
    healthy: false,
    consecutiveFailures: 0,
    ejectedUntil: clock.now() + 1_000,
  });
  for (let i = 0; i < 3; i++) assert.equal(bal.pick(req())?.target, b);
  bal.done(b!, true);
  bal.done(b!, true);
  assert.equal(bal.pick(req()), undefined);
  const ejections = await metric(registry, 'junction_upstream_ejections_total');
  assert.deepEqual(
    ejections.map((v) => [v.labels.target, v.value]),
    [
      [a!.origin, 1],
      [b!.origin, 1],
    ],
  );
  await clock.advance(1_000);
  assert.equal(bal.health(a!).healthy, true);
  assert.equal(bal.health(a!).ejectedUntil, undefined);
  assert.ok(bal.pick(req()) !== undefined);
});

test('without outlierDetection failures eject nothing', (t) => {
  const [a, b] = fakeTargets(2);
  const bal = createBalancer({ upstream: 'api', targets: [a!, b!], config: base });
  t.after(() => bal.close());
  for (let i = 0; i < 20; i++) bal.done(a!, true);
  assert.deepEqual(bal.health(a!), { healthy: true, consecutiveFailures: 0 });
});

test('active checks take a target out and back, counted by result, with the healthy gauge at scrape time', async (t) => {
  const clock = new ManualClock();
  const registry = new Registry();
  const [a, b] = fakeTargets(2);
  const status = new Map([
    [a!, 200],
    [b!, 200],
  ]);
  const bal = createBalancer({
    upstream: 'api',
    targets: [a!, b!],
    config: { ...base, healthCheck },
    clock,
    registry,
    probe: async (target) => status.get(target)!,
  });
  t.after(() => bal.close());
  status.set(b!, 503);
  await clock.advance(0);
  assert.equal(bal.health(b!).healthy, false);
  for (let i = 0; i < 3; i++) assert.equal(bal.pick(req())?.target, a);
  const healthy = await metric(registry, 'junction_upstream_target_healthy');
  assert.deepEqual(
    healthy.map((v) => [v.labels.upstream, v.labels.target, v.value]),
    [
      ['api', a!.origin, 1],
      ['api', b!.origin, 0],
    ],
  );
  status.set(a!, 500);
  await clock.advance(100);
  assert.equal(bal.pick(req()), undefined);
  status.set(b!, 200);
  await clock.advance(100);
  assert.equal(bal.pick(req())?.target, b);
  const checks = await metric(registry, 'junction_upstream_health_checks_total');
  const byResult = Object.fromEntries(checks.map((v) => [v.labels.result, v.value]));
  // t=0: a pass, b fail; t=100: both fail; t=200: a fail, b pass.
  assert.deepEqual(byResult, { pass: 2, fail: 4 });
});

test('two balancers for the same upstream name share one registry (config reloads); the old one closing keeps the new in the gauge', async () => {
  const registry = new Registry();
  const targets = fakeTargets(1);
  const old = createBalancer({ upstream: 'api', targets, config: base, registry });
  const next = createBalancer({ upstream: 'api', targets, config: base, registry });
  await old.close();
  await old.close();
  const healthy = await metric(registry, 'junction_upstream_target_healthy');
  assert.equal(healthy.length, 1);
  await next.close();
  assert.equal((await metric(registry, 'junction_upstream_target_healthy')).length, 0);
});

test('the strategy comes from balance.strategy', (t) => {
  const targets = fakeTargets(3);
  const sticky = createBalancer({
    upstream: 'api',
    targets,
    config: { balance: { ...base.balance, strategy: 'sticky-cookie' } },
  });
  const hashed = createBalancer({
    upstream: 'api',
    targets,
    config: { balance: { ...base.balance, strategy: 'consistent-hash', hashOn: { header: 'x-k' } } },
  });
  t.after(() => Promise.all([sticky.close(), hashed.close()]));
  assert.match(sticky.pick(req())?.setCookie ?? '', /^jx_affinity=t0;/);
  const first = hashed.pick(req({ 'x-k': 'key' }))?.target;
  assert.equal(hashed.pick(req({ 'x-k': 'key' }))?.target, first);
});
