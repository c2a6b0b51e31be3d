import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { createRetryBudget } from './budget.ts';
import { createRetry, type RetryInfo, type RetryOptions } from './retry.ts';
import { FakeClock, flush, sequence, track } from './testing.ts';
import type { Outcome } from './types.ts';

interface Res {
  status: number;
  retryAfter?: number;
  id: number;
}

const isBad = (o: Outcome<Res>) => !o.ok || o.value.status >= 500;

function setup(overrides: Partial<RetryOptions<Res>> & { clock?: FakeClock } = {}) {
  const clock = overrides.clock ?? new FakeClock();
  const retry = createRetry<Res>({
    maxAttempts: 3,
    backoff: { strategy: 'none', baseMs: 100, capMs: 1_000 },
    shouldRetry: isBad,
    clock,
    ...overrides,
  });
  return { clock, retry };
}

test('a rejected operation is tried maxAttempts times and the last error rejects', async () => {
  const { clock, retry } = setup();
  const attempts: number[] = [];
  const call = track(
    retry.execute(async ({ attempt }) => {
      attempts.push(attempt);
      throw new Error(`refused ${attempt}`);
    }),
  );
  await clock.advance(100);
  await clock.advance(200);
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.equal((call.error as Error).message, 'refused 3');
  assert.equal(clock.pendingTimers, 0);
});

test('a 503 value is returned after the last attempt, and the earlier ones are discarded', async () => {
  const discarded: number[] = [];
  const { clock, retry } = setup({ discard: (r) => discarded.push(r.id) });
  let n = 0;
  const call = track(retry.execute(async () => ({ status: 503, id: ++n })));
  await clock.advance(300);
  assert.deepEqual(call.value, { status: 503, id: 3 });
  assert.deepEqual(discarded, [1, 2]);
});

test('a success after a failure is returned, with no further tries', async () => {
  const { clock, retry } = setup();
  let n = 0;
  const call = track(retry.execute(async () => ({ status: ++n === 1 ? 502 : 200, id: n })));
  await clock.advance(10_000);
  assert.deepEqual(call.value, { status: 200, id: 2 });
  assert.equal(n, 2);
});

test('an outcome shouldRetry declines is returned at once, and shouldRetry sees the attempt number', async () => {
  const { clock, retry } = setup();
  let n = 0;
  const declined = track(retry.execute(async () => ({ status: 400, id: ++n })));
  await flush();
  assert.deepEqual(declined.value, { status: 400, id: 1 });

  const seen: number[] = [];
  const twice = setup({
    clock,
    shouldRetry: (o, attempt) => {
      seen.push(attempt);
      return isBad(o) && attempt < 2;
    },
  }).retry;
  const call = track(twice.execute(async () => ({ status: 503, id: ++n })));
  await clock.advance(1_000);
  assert.deepEqual(call.value, { status: 503, id: 3 });
  assert.deepEqual(seen, [1, 2]);
});

test('waits the backoff between tries, not less', async () => {
  const { clock, retry } = setup({
    backoff: { strategy: 'full', baseMs: 100, capMs: 10_000 },
    random: sequence(0.5),
  });
  const at: number[] = [];
  track(
    retry.execute(async () => {
      at.push(clock.now());
      return { status: 503, id: 0 };
    }),
  );
  await clock.advance(1_000);
  // Full jitter with random() = 0.5: half of 100, then half of 200.
  assert.deepEqual(at, [0, 50, 150]);
});

test('Retry-After longer than the backoff is honoured', async () => {
  const infos: RetryInfo<Res>[] = [];
  const { clock, retry } = setup({
    retryAfterMs: (o) => (o.ok ? o.value.retryAfter : undefined),
    onRetry: (info) => infos.push(info),
  });
  const at: number[] = [];
  track(
    retry.execute(async () => {
      at.push(clock.now());
      return { status: 503, retryAfter: at.length === 1 ? 2_000 : 50, id: at.length };
    }),
  );
  await clock.advance(5_000);
  // First wait: max(100 backoff, 2 000 asked); second: max(200 backoff, 50 asked).
  assert.deepEqual(at, [0, 2_000, 2_200]);
  assert.deepEqual(
    infos.map((i) => [i.attempt, i.delayMs, i.retryAfterMs]),
    [
      [1, 2_000, 2_000],
      [2, 200, 50],
    ],
  );
});

test('Retry-After beyond maxRetryAfterMs stops retrying and returns that answer', async () => {
  const { retry } = setup({ retryAfterMs: () => 60_000, maxRetryAfterMs: 30_000 });
  let n = 0;
  const call = track(retry.execute(async () => ({ status: 503, id: ++n })));
  await flush();
  assert.deepEqual(call.value, { status: 503, id: 1 }, 'settles at once instead of waiting 60 s');
});

test('abort while waiting between retries rejects promptly with the reason and tries no more', async () => {
  const { clock, retry } = setup({ backoff: { strategy: 'none', baseMs: 5_000 } });
  const controller = new AbortController();
  let tries = 0;
  const call = track(retry.execute(async () => ({ status: 503, id: ++tries }), controller.signal));
  await flush();
  assert.equal(clock.pendingTimers, 1, 'waiting for the second try');
  const reason = new Error('client went away');
  controller.abort(reason);
  await flush();
  assert.equal(call.error, reason);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  await clock.advance(10_000);
  assert.equal(tries, 1);
});

test('a try that failed because the caller aborted is not retried', async () => {
  const clock = new FakeClock();
  const budget = createRetryBudget({ clock });
  let retries = 0;
  const { retry } = setup({ clock, budget, shouldRetry: () => true, onRetry: () => retries++ });
  const controller = new AbortController();
  let tries = 0;
  const call = track(
    retry.execute(({ signal }) => {
      tries++;
      return new Promise<Res>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    }, controller.signal),
  );
  controller.abort(new Error('deadline'));
  await clock.advance(10_000);
  assert.equal((call.error as Error).message, 'deadline');
  assert.equal(tries, 1);
  assert.equal(retries, 0);
  assert.equal(budget.snapshot().retries, 0, 'no token spent on a retry that cannot happen');
});

test('budget exhausted returns the last outcome: the value resolves, the error rejects', async () => {
  const clock = new FakeClock();
  const budget = createRetryBudget({ ratio: 0, minRetriesPerSecond: 0.1, ttlMs: 10_000, clock });
  let exhausted = 0;
  const retry = createRetry<Res>({
    maxAttempts: 5,
    backoff: { strategy: 'none', baseMs: 0 },
    shouldRetry: isBad,
    budget,
    onBudgetExhausted: () => exhausted++,
    clock,
  });
  let n = 0;
  // The reserve holds one retry: the first call gets it, the second none.
  assert.deepEqual(await retry.execute(async () => ({ status: 503, id: ++n })), { status: 503, id: 2 });
  assert.deepEqual(await retry.execute(async () => ({ status: 503, id: ++n })), { status: 503, id: 3 });
  await assert.rejects(
    retry.execute(async () => {
      throw new Error(`refused ${++n}`);
    }),
    /refused 4/,
  );
  assert.equal(exhausted, 3);
  assert.equal(budget.snapshot().requests, 3, 'one deposit per execute, not per try');
});

test('an already aborted call neither runs nor counts as a request', async () => {
  const clock = new FakeClock();
  const budget = createRetryBudget({ clock });
  const retry = createRetry<Res>({ shouldRetry: () => true, budget, clock });
  let tries = 0;
  await assert.rejects(
    retry.execute(async () => ({ status: 200, id: ++tries }), AbortSignal.abort(new Error('gone'))),
    /gone/,
  );
  assert.equal(tries, 0);
  assert.equal(budget.snapshot().requests, 0);
});

test('maxAttempts 1 never retries; bad settings are refused', async () => {
  const { retry } = setup({ maxAttempts: 1 });
  let n = 0;
  const once = track(retry.execute(async () => ({ status: 503, id: ++n })));
  await flush();
  assert.deepEqual(once.value, { status: 503, id: 1 });
  assert.throws(() => createRetry({ maxAttempts: 0, shouldRetry: () => true }), RangeError);
  assert.throws(() => createRetry({ maxRetryAfterMs: -1, shouldRetry: () => true }), RangeError);
});
