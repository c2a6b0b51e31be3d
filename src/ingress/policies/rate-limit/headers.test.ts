import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Decision } from './algorithms/index.ts';
import { policyHeader, retryAfterSeconds, stateHeader, tightest } from './headers.ts';
import { compileLimits } from './limits.ts';

const d = (allowed: boolean, remaining: number, resetMs: number, retryAfterMs = 0): Decision => ({
  allowed,
  limit: 10,
  remaining,
  resetMs,
  retryAfterMs,
});

test('RateLimit-Policy lists every limit in the draft-10 structured-field syntax', () => {
  const limits = compileLimits(
    [
      {
        name: 'per-second',
        algorithm: 'sliding-window',
        limit: 10,
        windowMs: 1000,
        key: 'ip',
        missingKey: 'ip',
      },
      { algorithm: 'sliding-log', limit: 1000, windowMs: 3_600_000, key: 'ip', missingKey: 'ip' },
      { algorithm: 'gcra', limit: 20, windowMs: 1000, burst: 5, key: 'ip', missingKey: 'ip' },
      { algorithm: 'sliding-window', limit: 5, windowMs: 250, key: 'ip', missingKey: 'ip' },
    ],
    'r',
    1,
  );
  // GCRA: a bucket of 5 refilled at 20/s is quota 5 restored over 0.25 s, sent as whole seconds.
  assert.equal(
    policyHeader(limits),
    '"per-second";q=10;w=1, "1000-per-1h";q=1000;w=3600, "20-per-1s";q=5;w=1, "5-per-250ms";q=5;w=1',
  );
  assert.equal(stateHeader(limits[0]!, d(true, 3, 1200)), '"per-second";r=3;t=2');
});

test('the tightest limit is the refusal with the longest wait, else the one with least left', () => {
  assert.equal(tightest([d(true, 5, 100), d(true, 2, 100), d(true, 2, 900)]), 2);
  assert.equal(tightest([d(true, 0, 100), d(false, 0, 100, 50), d(false, 0, 100, 700)]), 2);
  assert.equal(retryAfterSeconds([d(true, 0, 100), d(false, 0, 100, 50), d(false, 0, 100, 1200)]), 2);
  assert.equal(retryAfterSeconds([d(false, 0, 100, 1)]), 1);
});

test('two limits with one name are refused: the headers could not tell them apart', () => {
  const l = { algorithm: 'gcra', limit: 1, windowMs: 1000, key: 'ip', missingKey: 'ip' } as const;
  assert.throws(() => compileLimits([l, l], 'r', 1), /two limits are named 1-per-1s/);
});
