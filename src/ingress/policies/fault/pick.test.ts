import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describe as describeFault, pickFaults, type Random } from './pick.ts';
import type { FaultConfig } from './schema.ts';

/** Returns the given values in turn, then fails loudly if asked for more. */
function script(...values: number[]): Random {
  return () => {
    const v = values.shift();
    if (v === undefined) throw new Error('random called more often than scripted');
    return v;
  };
}

const delay = (ms: number, percent: number, jitterMs = 0) => ({ ms, percent, jitterMs });
const abort = (status: number, percent: number) => ({ status, percent });

test('percent 0 never injects, whatever the random source says', () => {
  const config: FaultConfig = { delay: delay(100, 0), abort: abort(503, 0) };
  for (let i = 0; i < 1000; i++) assert.equal(pickFaults(config, {}, Math.random), undefined);
  assert.equal(pickFaults(config, {}, script(0, 0)), undefined);
});

test('percent 100 always injects, even for the largest random value', () => {
  const config: FaultConfig = { delay: delay(100, 100), abort: abort(502, 100) };
  for (let i = 0; i < 1000; i++) {
    assert.deepEqual(pickFaults(config, {}, Math.random), { delayMs: 100, abortStatus: 502 });
  }
  const justUnderOne = 1 - Number.EPSILON;
  assert.deepEqual(pickFaults(config, {}, script(justUnderOne, justUnderOne)), {
    delayMs: 100,
    abortStatus: 502,
  });
});

test('a deterministic random source picks exactly the requests under the percentage', () => {
  const config: FaultConfig = { abort: abort(503, 25) };
  const hit = Array.from({ length: 100 }, (_, i) => i).filter(
    (i) => pickFaults(config, {}, script(i / 100)) !== undefined,
  );
  assert.deepEqual(
    hit,
    Array.from({ length: 25 }, (_, i) => i),
  );
});

test('fractional percentages are honoured: 0.5 % is one request in 200', () => {
  const config: FaultConfig = { abort: abort(503, 0.5) };
  const hits = Array.from({ length: 200 }, (_, i) => pickFaults(config, {}, script(i / 200))).filter(Boolean);
  assert.equal(hits.length, 1);
});

test('delay and abort roll independently, delay first', () => {
  const config: FaultConfig = { delay: delay(50, 50), abort: abort(503, 50) };
  assert.deepEqual(pickFaults(config, {}, script(0.1, 0.9)), { delayMs: 50, abortStatus: undefined });
  assert.deepEqual(pickFaults(config, {}, script(0.9, 0.1)), { delayMs: undefined, abortStatus: 503 });
});

test('jitter spreads the delay by ± jitterMs and never below zero', () => {
  const config: FaultConfig = { delay: delay(100, 100, 40) };
  assert.equal(pickFaults(config, {}, script(0, 0))?.delayMs, 60);
  assert.equal(pickFaults(config, {}, script(0, 0.5))?.delayMs, 100);
  assert.equal(pickFaults(config, {}, script(0, 1 - Number.EPSILON))?.delayMs, 140);
  const wide: FaultConfig = { delay: delay(10, 100, 50) };
  assert.equal(pickFaults(wide, {}, script(0, 0))?.delayMs, 0);
});

test('with a trigger header, requests without it are never touched', () => {
  const config: FaultConfig = {
    delay: delay(10, 100),
    abort: abort(503, 100),
    when: { header: 'x-junction-fault' },
  };
  assert.equal(pickFaults(config, {}, script()), undefined);
  assert.equal(pickFaults(config, { 'x-other': 'abort' }, script()), undefined);
  assert.deepEqual(pickFaults(config, { 'x-junction-fault': '1' }, script(0, 0)), {
    delayMs: 10,
    abortStatus: 503,
  });
});

test("the trigger header's value picks which fault: delay, abort, or both", () => {
  const config: FaultConfig = {
    delay: delay(10, 100),
    abort: abort(503, 100),
    when: { header: 'X-Chaos' }, // configured in any case; node:http lowercases what arrives
  };
  const pick = (value: string) => pickFaults(config, { 'x-chaos': value }, script(0, 0));
  assert.deepEqual(pick('abort'), { delayMs: undefined, abortStatus: 503 });
  assert.deepEqual(pick('Delay'), { delayMs: 10, abortStatus: undefined });
  assert.deepEqual(pick('delay, abort'), { delayMs: 10, abortStatus: 503 });
  assert.deepEqual(pick('yes'), { delayMs: 10, abortStatus: 503 });
  // Asking for a fault the route does not configure injects nothing.
  assert.equal(
    pickFaults({ abort: abort(503, 100), when: config.when }, { 'x-chaos': 'delay' }, script()),
    undefined,
  );
});

test('percent still applies among the requests that carry the trigger header', () => {
  const config: FaultConfig = { abort: abort(503, 10), when: { header: 'x-junction-fault' } };
  const headers = { 'x-junction-fault': 'abort' };
  assert.equal(pickFaults(config, headers, script(0.5)), undefined);
  assert.equal(pickFaults(config, headers, script(0.05))?.abortStatus, 503);
});

test('describe lists what was injected as a header value', () => {
  assert.equal(describeFault({ delayMs: 120, abortStatus: undefined }), 'delay=120');
  assert.equal(describeFault({ delayMs: undefined, abortStatus: 503 }), 'abort=503');
  assert.equal(describeFault({ delayMs: 5, abortStatus: 500 }), 'delay=5, abort=500');
});
