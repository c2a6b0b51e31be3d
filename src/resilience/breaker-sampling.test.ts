import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCircuitBreaker } from './breaker.ts';
import { FakeClock } from './testing.ts';
import type { Outcome } from './types.ts';

type Res = { status: number };
const isFailure = (o: Outcome<Res>) => !o.ok || o.value.status >= 500;
const ok = async () => ({ status: 200 });
const bad = async () => ({ status: 503 });

function setup(mode: { windowMs?: number; buckets?: number } = {}) {
  const clock = new FakeClock(1_000_000);
  const breaker = createCircuitBreaker<Res>({ mode: { kind: 'sampling', ...mode }, isFailure, clock });
  return { clock, breaker };
}

test('sampling is the default mode: 50 % of at least 20 calls in 10 s', async () => {
  const breaker = createCircuitBreaker<Res>({ isFailure, clock: new FakeClock() });
  for (let i = 0; i < 10; i++) await breaker.execute(ok);
  for (let i = 0; i < 9; i++) await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'closed');
  await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'open');
});

test('100 % failures below minimumRequests do not open it', async () => {
  const { breaker } = setup();
  for (let i = 0; i < 19; i++) await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'closed');
  assert.deepEqual(breaker.snapshot().recent, { requests: 19, failures: 19 });
  await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'open');
});

test('opens when half of at least 20 calls in 10 s failed, not below half', async () => {
  const { clock, breaker } = setup();
  for (let i = 0; i < 11; i++) await breaker.execute(ok);
  for (let i = 0; i < 10; i++) await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'closed', '10 of 21 is under 0.5');
  await clock.advance(100);
  await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'open', '11 of 22 is 0.5');
});

test('failures older than windowMs leave the window', async () => {
  const { clock, breaker } = setup({ windowMs: 10_000, buckets: 10 });
  for (let i = 0; i < 15; i++) await breaker.execute(bad);
  await clock.advance(10_000);
  assert.deepEqual(breaker.snapshot().recent, { requests: 0, failures: 0 });
  for (let i = 0; i < 15; i++) await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'closed');
  await clock.advance(5_000);
  for (let i = 0; i < 5; i++) await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'open', '20 failures within 10 s');
});
