import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { createCircuitBreaker } from './breaker.ts';
import { createRetryBudget } from './budget.ts';
import { createBulkhead } from './bulkhead.ts';
import { createRetry } from './retry.ts';
import { FakeClock, flush, track } from './testing.ts';
import { createTimeout } from './timeout.ts';
import type { CallContext, Outcome, Policy } from './types.ts';
import { wrap } from './wrap.ts';

function recording(name: string, log: string[]): Policy<string> {
  return {
    async execute(fn, signal, attempt = 1) {
      log.push(`${name}>`);
      try {
        return await fn({ attempt, signal: signal ?? new AbortController().signal });
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

test('the first policy is outermost', async () => {
  const log: string[] = [];
  const policy = wrap(recording('a', log), recording('b', log), recording('c', log));
  assert.equal(
    await policy.execute(async () => {
      log.push('op');
      return 'done';
    }),
    'done',
  );
  assert.deepEqual(log, ['a>', 'b>', 'c>', 'op', '<c', '<b', '<a']);
});

test('wrap with no policies just calls the operation', async () => {
  assert.equal(await wrap<string>().execute(async ({ attempt }) => `attempt ${attempt}`), 'attempt 1');
});

test('ctx.attempt flows from the retry layer through the inner policies to the operation', async () => {
  const clock = new FakeClock();
  const seenByInner: number[] = [];
  const spy: Policy<string> = {
    execute: (fn, signal, attempt = 1) => {
      seenByInner.push(attempt);
      return fn({ attempt, signal: signal ?? new AbortController().signal });
    },
  };
  const policy = wrap(
    createRetry<string>({ maxAttempts: 3, backoff: { baseMs: 0 }, shouldRetry: (o) => !o.ok, clock }),
    createTimeout<string>({ ms: 1_000, clock }),
    spy,
  );
  const attempts: number[] = [];
  const result = await policy.execute(async ({ attempt }) => {
    attempts.push(attempt);
    if (attempt < 3) throw new Error('refused');
    return 'third time';
  });
  assert.equal(result, 'third time');
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.deepEqual(seenByInner, [1, 2, 3]);
});

/** The recommended upstream stack, with a hanging or scripted upstream. */
function stack(clock: FakeClock, options: { deadlineMs?: number; maxConcurrent?: number } = {}) {
  // Refusals by the gateway's own breaker and bulkhead say nothing new about the upstream.
  const local = (o: Outcome<string>) =>
    !o.ok &&
    isJunctionError(o.error) &&
    (o.error.code === 'circuit_open' || o.error.code === 'bulkhead_full');
  const isFailure = (o: Outcome<string>) => !local(o) && (!o.ok || o.value === '503');
  const breaker = createCircuitBreaker<string>({
    mode: { kind: 'consecutive', threshold: 5 },
    isFailure,
    clock,
  });
  const bulkhead = createBulkhead<string>({ maxConcurrent: options.maxConcurrent ?? 10, clock });
  const budget = createRetryBudget({ clock });
  const policy = wrap(
    createTimeout<string>({ ms: options.deadlineMs ?? 10_000, clock }),
    createRetry<string>({
      maxAttempts: 3,
      backoff: { strategy: 'none', baseMs: 100 },
      shouldRetry: isFailure,
      budget,
      clock,
    }),
    breaker,
    bulkhead,
    createTimeout<string>({ ms: 1_000, clock, error: () => new Error('per-try timeout') }),
  );
  return { policy, breaker, bulkhead, budget };
}

const hang = ({ signal }: CallContext) =>
  new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

test('each retry passes the breaker and the per-try timeout covers one attempt', async () => {
  const clock = new FakeClock();
  const { policy, breaker, bulkhead, budget } = stack(clock);
  const attempts: number[] = [];
  const call = track(
    policy.execute((ctx) => {
      attempts.push(ctx.attempt);
      return hang(ctx);
    }),
  );
  // Three tries of 1 000 ms each, with 100 and 200 ms between them.
  await clock.advance(3_299);
  assert.equal(call.settled, false);
  await clock.advance(1);
  assert.equal((call.error as Error).message, 'per-try timeout');
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.equal(breaker.snapshot().totals.failures, 3, 'every try is a breaker sample');
  assert.equal(bulkhead.snapshot().running, 0);
  assert.deepEqual([budget.snapshot().requests, budget.snapshot().retries], [1, 2]);
  assert.equal(clock.pendingTimers, 0);
});

test('a retry into an open circuit stops with circuit_open instead of calling the upstream', async () => {
  const clock = new FakeClock();
  const { policy, breaker } = stack(clock);
  let calls = 0;
  const fail = async () => {
    calls++;
    return '503';
  };
  // 2 calls × 3 tries: the breaker opens on the 5th failure, so the 6th try is refused.
  track(policy.execute(fail));
  await clock.advance(1_000);
  const second = track(policy.execute(fail));
  await clock.advance(1_000);
  assert.equal(calls, 5);
  assert.equal(breaker.snapshot().state, 'open');
  assert.ok(isJunctionError(second.error));
  assert.equal(second.error.code, 'circuit_open');
});

test('a try holds a bulkhead slot only while it runs, not while it waits to retry', async () => {
  const clock = new FakeClock();
  const { policy } = stack(clock, { maxConcurrent: 1 });
  track(policy.execute(async () => '503'));
  await flush();
  // The first call now waits 100 ms before its retry: the slot is free for another call.
  assert.equal(await policy.execute(async () => 'ok'), 'ok');
});

test('the overall deadline aborts a wait between retries and the whole call rejects with deadline_exceeded', async () => {
  const clock = new FakeClock();
  const { policy, bulkhead } = stack(clock, { deadlineMs: 1_050 });
  let tries = 0;
  const call = track(
    policy.execute((ctx) => {
      tries++;
      return hang(ctx);
    }),
  );
  await clock.advance(1_050);
  assert.ok(isJunctionError(call.error));
  assert.equal(call.error.code, 'deadline_exceeded');
  assert.equal(tries, 1, 'no try after the deadline');
  await clock.advance(10_000);
  assert.equal(tries, 1);
  assert.equal(bulkhead.snapshot().running, 0);
  assert.equal(clock.pendingTimers, 0);
});
