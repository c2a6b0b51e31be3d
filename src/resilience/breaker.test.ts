import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJunctionError } from '../core/errors.ts';
import { type CircuitBreakerOptions, type CircuitState, createCircuitBreaker } from './breaker.ts';
import { FakeClock, flush, track } from './testing.ts';
import type { Outcome } from './types.ts';

type Res = { status: number };
const isFailure = (o: Outcome<Res>) => !o.ok || o.value.status >= 500;
const ok = async () => ({ status: 200 });
const bad = async () => ({ status: 503 });
const refused = async (): Promise<Res> => {
  throw new Error('ECONNREFUSED');
};

function setup(overrides: Partial<CircuitBreakerOptions<Res>> = {}) {
  const clock = new FakeClock(1_000_000);
  const changes: string[] = [];
  const breaker = createCircuitBreaker<Res>({
    mode: { kind: 'consecutive', threshold: 5 },
    resetMs: 30_000,
    isFailure,
    clock,
    onStateChange: (from, to) => changes.push(`${from}→${to}`),
    ...overrides,
  });
  return { clock, breaker, changes };
}

/** A call the test finishes by hand, to hold probes in flight. */
function held() {
  let finish: (res: Res) => void = () => {};
  let called = false;
  const fn = () => {
    called = true;
    return new Promise<Res>((resolve) => (finish = resolve));
  };
  return { fn, finish: (res: Res) => finish(res), wasCalled: () => called };
}

test('opens after 5 consecutive failures, not after 4, and a success resets the run', async () => {
  const { breaker } = setup();
  for (let i = 0; i < 4; i++) await breaker.execute(bad);
  await breaker.execute(ok);
  for (let i = 0; i < 4; i++) await assert.rejects(breaker.execute(refused), /ECONNREFUSED/);
  assert.equal(breaker.snapshot().state, 'closed');
  assert.equal(breaker.snapshot().recent.failures, 4);
  await breaker.execute(bad);
  assert.equal(breaker.snapshot().state, 'open');
});

test('a failing value is still returned to the caller while it counts as a failure', async () => {
  const { breaker } = setup({ mode: { kind: 'consecutive', threshold: 1 } });
  assert.deepEqual(await breaker.execute(bad), { status: 503 });
  assert.equal(breaker.snapshot().state, 'open');
});

test('while open it rejects at once with circuit_open and Retry-After, without calling the operation', async () => {
  const { clock, breaker } = setup({ name: 'billing' });
  for (let i = 0; i < 5; i++) await breaker.execute(bad);
  await clock.advance(10_500);
  let called = false;
  const error = await breaker
    .execute(async () => {
      called = true;
      return { status: 200 };
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.equal(called, false);
  assert.ok(isJunctionError(error));
  assert.equal(error.code, 'circuit_open');
  assert.equal(error.status, 503);
  assert.equal(error.title, 'Circuit breaker is open');
  assert.deepEqual(error.headers, { 'retry-after': '20' });
  assert.equal(error.extensions?.retryAfterMs, 19_500);
  assert.match(error.message, /billing/);
});

test('calls refused while open are not failure samples and do not push the retry time back', async () => {
  const { clock, breaker } = setup();
  for (let i = 0; i < 5; i++) await breaker.execute(bad);
  const before = breaker.snapshot();
  for (let i = 0; i < 50; i++) await assert.rejects(breaker.execute(ok), { code: 'circuit_open' });
  const after = breaker.snapshot();
  assert.equal(after.totals.failures, before.totals.failures);
  assert.equal(after.totals.rejected, 50);
  assert.equal(after.state === 'open' && after.retryAt, before.state === 'open' && before.retryAt);
  await clock.advance(30_000);
  assert.equal(breaker.snapshot().state, 'half-open');
});

test('after resetMs it goes half-open and one successful probe closes it', async () => {
  const { clock, breaker, changes } = setup();
  for (let i = 0; i < 5; i++) await breaker.execute(bad);
  await clock.advance(29_999);
  await assert.rejects(breaker.execute(ok), { code: 'circuit_open' });
  await clock.advance(1);
  assert.deepEqual(await breaker.execute(ok), { status: 200 });
  assert.equal(breaker.snapshot().state, 'closed');
  assert.deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→closed']);
});

test('half-open admits 1 probe by default and refuses a second while it runs', async () => {
  const { clock, breaker } = setup();
  for (let i = 0; i < 5; i++) await breaker.execute(bad);
  await clock.advance(30_000);
  const probe = held();
  const first = track(breaker.execute(probe.fn));
  await assert.rejects(breaker.execute(ok), (e) => {
    assert.ok(isJunctionError(e));
    assert.equal(e.code, 'circuit_open');
    assert.equal(e.headers?.['retry-after'], '1');
    return true;
  });
  assert.deepEqual(breaker.snapshot().state, 'half-open');
  probe.finish({ status: 200 });
  await flush();
  assert.deepEqual(first.value, { status: 200 });
  assert.equal(breaker.snapshot().state, 'closed');
});

test('half-open admits 2 probes and closes after 2 successes', async () => {
  const { clock, breaker } = setup({ halfOpenProbes: 2 });
  for (let i = 0; i < 5; i++) await breaker.execute(bad);
  await clock.advance(30_000);
  const a = held();
  const b = held();
  track(breaker.execute(a.fn));
  track(breaker.execute(b.fn));
  assert.ok(a.wasCalled() && b.wasCalled());
  await assert.rejects(breaker.execute(ok), { code: 'circuit_open' });
  const snap = breaker.snapshot();
  assert.deepEqual(snap.state === 'half-open' && [snap.probesInFlight, snap.successes], [2, 0]);
  a.finish({ status: 200 });
  await flush();
  assert.equal(breaker.snapshot().state, 'half-open', 'one success of two is not enough');
  b.finish({ status: 200 });
  await flush();
  assert.equal(breaker.snapshot().state, 'closed');
});

test('a failed probe re-opens it for another resetMs, and the other probe’s late result is ignored', async () => {
  const { clock, breaker, changes } = setup({ halfOpenProbes: 2 });
  for (let i = 0; i < 5; i++) await breaker.execute(bad);
  await clock.advance(30_000);
  const a = held();
  const b = held();
  track(breaker.execute(a.fn));
  track(breaker.execute(b.fn));
  a.finish({ status: 502 });
  await flush();
  const snap = breaker.snapshot();
  assert.equal(snap.state, 'open');
  assert.equal(snap.state === 'open' && snap.retryAt, clock.now() + 30_000);
  b.finish({ status: 200 });
  await flush();
  assert.equal(breaker.snapshot().state, 'open');
  assert.deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→open']);
});

test('a call admitted while closed that fails after the circuit opened is not a probe result', async () => {
  const { clock, breaker } = setup({ mode: { kind: 'consecutive', threshold: 2 } });
  const slow = held();
  track(breaker.execute(slow.fn));
  await breaker.execute(bad);
  await breaker.execute(bad);
  await clock.advance(30_000);
  const probe = held();
  track(breaker.execute(probe.fn));
  slow.finish({ status: 500 });
  await flush();
  assert.equal(breaker.snapshot().state, 'half-open');
  probe.finish({ status: 200 });
  await flush();
  assert.equal(breaker.snapshot().state, 'closed');
});

test('calls whose caller gave up are not failures, and an aborted probe frees its slot', async () => {
  const { clock, breaker } = setup({ mode: { kind: 'consecutive', threshold: 1 } });
  const controller = new AbortController();
  controller.abort(new Error('client went away'));
  await assert.rejects(breaker.execute(refused, controller.signal), /ECONNREFUSED/);
  assert.equal(breaker.snapshot().state, 'closed');
  assert.equal(breaker.snapshot().totals.failures, 0);

  await breaker.execute(bad);
  await clock.advance(30_000);
  const gaveUp = new AbortController();
  const probe = breaker.execute(
    ({ signal }) =>
      new Promise<Res>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    gaveUp.signal,
  );
  gaveUp.abort(new Error('deadline'));
  await assert.rejects(probe, /deadline/);
  assert.equal(breaker.snapshot().state, 'half-open');
  await breaker.execute(ok);
  assert.equal(breaker.snapshot().state, 'closed');
});

test('its state serializes and a new breaker resumes from it', async () => {
  const { clock, breaker } = setup();
  for (let i = 0; i < 5; i++) await breaker.execute(bad);
  const { recent: _r, totals: _t, ...state } = breaker.snapshot();
  const stored = JSON.parse(JSON.stringify(state)) as CircuitState;
  assert.deepEqual(stored, { state: 'open', openedAt: 1_000_000, retryAt: 1_030_000 });
  const resumed = createCircuitBreaker<Res>({ initialState: stored, isFailure, clock });
  await assert.rejects(resumed.execute(ok), { code: 'circuit_open' });
  await clock.advance(30_000);
  await resumed.execute(ok);
  assert.equal(resumed.snapshot().state, 'closed');
});

test('snapshot counts what it sampled, refused and how often it opened', async () => {
  const { clock, breaker } = setup({ mode: { kind: 'consecutive', threshold: 2 } });
  await breaker.execute(ok);
  await breaker.execute(bad);
  await breaker.execute(bad);
  await assert.rejects(breaker.execute(ok));
  await clock.advance(30_000);
  await breaker.execute(bad);
  assert.deepEqual(breaker.snapshot().totals, { successes: 1, failures: 3, rejected: 1, opened: 2 });
});

test('bad settings are refused', () => {
  assert.throws(() => createCircuitBreaker({ isFailure, halfOpenProbes: 0 }), RangeError);
  assert.throws(
    () => createCircuitBreaker({ isFailure, mode: { kind: 'sampling', failureRatio: 1.5 } }),
    RangeError,
  );
  assert.throws(
    () => createCircuitBreaker({ isFailure, mode: { kind: 'consecutive', threshold: 0 } }),
    RangeError,
  );
});
