import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ActiveState,
  HEALTHY,
  type HealthCheckConfig,
  nextActive,
  startActiveChecks,
  statusMatcher,
} from './active-health.ts';
import { ManualClock } from './testing.ts';

const config: HealthCheckConfig = {
  path: '/health',
  intervalMs: 1_000,
  timeoutMs: 500,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  expectStatus: ['200-399'],
};

test('three failed checks in a row take a target out, two passed bring it back', () => {
  const run = (results: boolean[]) =>
    results.reduce<ActiveState>((s, passed) => nextActive(s, passed, config), HEALTHY).status;
  assert.equal(run([false, false]), 'healthy');
  assert.equal(run([false, false, false]), 'unhealthy');
  assert.equal(run([false, false, true, false, false]), 'healthy');
  assert.equal(run([false, false, false, true]), 'unhealthy');
  assert.equal(run([false, false, false, true, true]), 'healthy');
  assert.equal(run([false, false, false, true, false, true]), 'unhealthy');
});

test('expectStatus takes codes and inclusive ranges', () => {
  const ok = statusMatcher(['200-299', 304]);
  assert.deepEqual([199, 200, 204, 299, 300, 304, 500].map(ok), [
    false,
    true,
    true,
    true,
    false,
    true,
    false,
  ]);
});

test('the check loop marks a failing target unhealthy, then healthy again, one check per interval', async (t) => {
  const clock = new ManualClock();
  const statuses = new Map([
    ['a', 200],
    ['b', 200],
  ]);
  const probes: string[] = [];
  const checks = startActiveChecks({
    targets: ['a', 'b'],
    config,
    clock,
    probe: async (target) => {
      probes.push(target);
      return statuses.get(target)!;
    },
  });
  t.after(() => checks.stop());
  assert.deepEqual(probes, [], 'no check before the first tick');
  await clock.advance(0);
  assert.deepEqual(probes, ['a', 'b']);
  statuses.set('b', 500);
  await clock.advance(2_000);
  assert.equal(checks.state('b').status, 'healthy');
  await clock.advance(1_000);
  assert.equal(checks.state('b').status, 'unhealthy');
  assert.equal(checks.state('a').status, 'healthy');
  assert.equal(probes.filter((p) => p === 'a').length, 4);
  statuses.set('b', 204);
  await clock.advance(1_000);
  assert.equal(checks.state('b').status, 'unhealthy');
  await clock.advance(1_000);
  assert.equal(checks.state('b').status, 'healthy');
});

test('a check without an answer by timeoutMs fails, and the next waits for it to end', async (t) => {
  const clock = new ManualClock();
  let probes = 0;
  const results: boolean[] = [];
  const checks = startActiveChecks({
    targets: ['slow'],
    config: { ...config, unhealthyThreshold: 1 },
    clock,
    probe: (_target, signal) => {
      probes++;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    },
    onResult: (_t, passed) => results.push(passed),
  });
  t.after(() => checks.stop());
  await clock.advance(499);
  assert.equal(probes, 1);
  assert.deepEqual(results, []);
  await clock.advance(1);
  assert.deepEqual(results, [false]);
  assert.equal(checks.state('slow').status, 'unhealthy');
  await clock.advance(1_000);
  assert.equal(probes, 2);
});

test('stop() clears the timers and aborts checks in flight; nothing is recorded after it', async () => {
  const clock = new ManualClock();
  let aborted = false;
  const results: boolean[] = [];
  const checks = startActiveChecks({
    targets: ['x'],
    config,
    clock,
    probe: (_t, signal) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(signal.reason);
        }),
      ),
    onResult: (_t, passed) => results.push(passed),
  });
  await clock.advance(0);
  checks.stop();
  await clock.advance(10_000);
  assert.equal(aborted, true);
  assert.deepEqual(results, []);
  assert.equal(clock.pending, 0);
});
