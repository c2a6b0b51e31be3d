import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRetryBudget } from './budget.ts';
import { createRetry } from './retry.ts';
import { FakeClock } from './testing.ts';

const withdrawUntilRefused = (budget: { tryWithdraw(): boolean }) => {
  let granted = 0;
  // Bounded, so a budget that never refuses fails the test instead of hanging it.
  while (granted < 10_000 && budget.tryWithdraw()) granted++;
  return granted;
};

test('without traffic the reserve allows minRetriesPerSecond × ttl retries, then refuses', () => {
  const budget = createRetryBudget({ minRetriesPerSecond: 3, ttlMs: 10_000, clock: new FakeClock() });
  assert.equal(withdrawUntilRefused(budget), 30);
  assert.equal(budget.tryWithdraw(), false);
  assert.equal(budget.snapshot().exhausted, 2);
});

test('each request deposits ratio of a retry on top of the reserve', () => {
  const budget = createRetryBudget({ ratio: 0.2, minRetriesPerSecond: 0, clock: new FakeClock() });
  assert.equal(budget.tryWithdraw(), false);
  for (let i = 0; i < 10; i++) budget.recordRequest();
  assert.equal(withdrawUntilRefused(budget), 2);
  for (let i = 0; i < 4; i++) budget.recordRequest();
  assert.equal(budget.tryWithdraw(), false, '0.8 of a token is not a retry');
  budget.recordRequest();
  assert.equal(budget.tryWithdraw(), true);
});

test('deposits expire after ttlMs', async () => {
  const clock = new FakeClock();
  const budget = createRetryBudget({ ratio: 0.5, ttlMs: 2_000, minRetriesPerSecond: 0, clock });
  for (let i = 0; i < 10; i++) budget.recordRequest();
  await clock.advance(1_999);
  assert.equal(budget.snapshot().available, 5);
  await clock.advance(1);
  assert.equal(budget.snapshot().available, 0);
  assert.equal(budget.tryWithdraw(), false);
});

test('spent retries expire with the window, so the reserve refills', async () => {
  const clock = new FakeClock();
  const budget = createRetryBudget({ minRetriesPerSecond: 1, ttlMs: 5_000, clock });
  assert.equal(withdrawUntilRefused(budget), 5);
  await clock.advance(4_000);
  assert.equal(budget.tryWithdraw(), false);
  await clock.advance(1_000);
  assert.equal(withdrawUntilRefused(budget), 5);
});

test('snapshot reports the window for metrics and admin', () => {
  const budget = createRetryBudget({ clock: new FakeClock() });
  for (let i = 0; i < 20; i++) budget.recordRequest();
  budget.tryWithdraw();
  assert.deepEqual(budget.snapshot(), {
    ratio: 0.2,
    ttlMs: 10_000,
    reserve: 30,
    requests: 20,
    retries: 1,
    available: 33,
    exhausted: 0,
  });
});

test('under 100 % failure with 3 attempts, retries stay within ratio × requests + reserve in every window', async () => {
  const clock = new FakeClock();
  const budget = createRetryBudget({ ratio: 0.2, ttlMs: 10_000, minRetriesPerSecond: 3, clock });
  const retry = createRetry<never>({
    maxAttempts: 3,
    backoff: { strategy: 'none', baseMs: 0 },
    shouldRetry: () => true,
    budget,
    clock,
  });
  const perSecond: { requests: number; tries: number }[] = [];
  for (let second = 0; second < 30; second++) {
    const counts = { requests: 0, tries: 0 };
    const calls = Array.from({ length: 100 }, () => {
      counts.requests++;
      return retry
        .execute(async () => {
          counts.tries++;
          throw new Error('503');
        })
        .catch(() => {});
    });
    await Promise.all(calls);
    perSecond.push(counts);
    await clock.advance(1_000);
  }
  for (let start = 0; start + 10 <= perSecond.length; start++) {
    const window = perSecond.slice(start, start + 10);
    const requests = window.reduce((n, s) => n + s.requests, 0);
    const retries = window.reduce((n, s) => n + s.tries - s.requests, 0);
    assert.ok(
      retries <= 0.2 * requests + 30,
      `seconds ${start}–${start + 9}: ${retries} retries for ${requests}`,
    );
  }
  const requests = perSecond.reduce((n, s) => n + s.requests, 0);
  const retries = perSecond.reduce((n, s) => n + s.tries - s.requests, 0);
  // Without the budget this would be 6 000 retries (2 per request); with it, about 20 % of 3 000.
  assert.ok(retries >= 0.2 * requests, `the budget is used, not starved: ${retries}`);
  assert.ok(retries <= 0.2 * requests + 3 * 30, `${retries} retries for ${requests} requests`);
});

test('refuses settings outside Finagle’s ranges', () => {
  assert.throws(() => createRetryBudget({ ttlMs: 500 }), RangeError);
  assert.throws(() => createRetryBudget({ ttlMs: 61_000 }), RangeError);
  assert.throws(() => createRetryBudget({ ttlMs: 1_500 }), RangeError);
  assert.throws(() => createRetryBudget({ ratio: -0.1 }), RangeError);
  assert.throws(() => createRetryBudget({ minRetriesPerSecond: Number.NaN }), RangeError);
});
