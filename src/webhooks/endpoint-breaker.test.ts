import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEndpointBreakers, TRIAL_STALE_MS, TRIAL_WAIT_MS } from './endpoint-breaker.ts';

const settings = { failures: 3, cooldownMs: 1_000, maxCooldownMs: 3_000 };

test('opens after N failures in a row; a success in between starts the count again', () => {
  const b = createEndpointBreakers();
  assert.equal(b.record('ep', 'failed', false, 0, settings), undefined);
  assert.equal(b.record('ep', 'failed', false, 0, settings), undefined);
  assert.equal(b.record('ep', 'ok', false, 0, settings), undefined);
  assert.deepEqual(b.state('ep'), { state: 'closed', failures: 0 });
  b.record('ep', 'failed', false, 10, settings);
  b.record('ep', 'failed', false, 10, settings);
  // A refusal (429) neither counts nor resets.
  b.record('ep', 'neutral', false, 10, settings);
  assert.equal(b.record('ep', 'failed', false, 10, settings), 'opened');
  assert.deepEqual(b.admit('ep', 500, settings), { ok: false, until: 1_010 });
  assert.deepEqual(b.counts(), { open: 1, halfOpen: 0 });
  // Other endpoints are not affected.
  assert.deepEqual(b.admit('other', 500, settings), { ok: true, trial: false });
});

test('half-open lets one trial through; a failed trial doubles the cooldown up to the maximum', () => {
  const b = createEndpointBreakers();
  for (let i = 0; i < 3; i++) b.record('ep', 'failed', false, 0, settings);
  assert.deepEqual(b.admit('ep', 1_000, settings), { ok: true, trial: true });
  // The others wait while the trial runs.
  assert.deepEqual(b.admit('ep', 1_001, settings), { ok: false, until: 1_001 + TRIAL_WAIT_MS });
  assert.equal(b.record('ep', 'failed', true, 1_100, settings), 'reopened');
  assert.deepEqual(b.state('ep'), { state: 'open', until: 3_100, cooldownMs: 2_000 });
  assert.deepEqual(b.admit('ep', 3_100, settings), { ok: true, trial: true });
  b.record('ep', 'failed', true, 3_200, settings);
  assert.deepEqual(b.state('ep'), { state: 'open', until: 6_200, cooldownMs: 3_000 });
  assert.deepEqual(b.admit('ep', 6_200, settings), { ok: true, trial: true });
  assert.equal(b.record('ep', 'ok', true, 6_300, settings), 'closed');
  assert.deepEqual(b.admit('ep', 6_301, settings), { ok: true, trial: false });
  assert.deepEqual(b.counts(), { open: 0, halfOpen: 0 });
});

test('a trial not tried (shutdown, a limit held it) lets the next delivery be the trial', () => {
  const b = createEndpointBreakers();
  for (let i = 0; i < 3; i++) b.record('ep', 'failed', false, 0, settings);
  assert.deepEqual(b.admit('ep', 1_000, settings), { ok: true, trial: true });
  b.record('ep', 'neutral', true, 1_000, settings);
  assert.deepEqual(b.admit('ep', 1_001, settings), { ok: true, trial: true });
  // A trial whose result never came (its worker died) stops holding the others after a while.
  assert.equal(b.admit('ep', 1_002, settings).ok, false);
  assert.deepEqual(b.admit('ep', 1_001 + TRIAL_STALE_MS, settings), { ok: true, trial: true });
});
