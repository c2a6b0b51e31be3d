import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roundRobin } from './round-robin.ts';
import { fakeTargets, req } from './testing.ts';

test('round robin takes the targets in turn', () => {
  const targets = fakeTargets(3);
  const rr = roundRobin(targets);
  const ids = Array.from({ length: 6 }, () => rr.pick(req(), () => true)?.target.id);
  assert.deepEqual(ids, ['t0', 't1', 't2', 't0', 't1', 't2']);
});

test('round robin skips targets out of rotation without giving their turn twice to a neighbour', () => {
  const targets = fakeTargets(4);
  const rr = roundRobin(targets);
  const down = new Set(['t1']);
  const up = (t: { id: string }) => !down.has(t.id);
  const ids = Array.from({ length: 6 }, () => rr.pick(req(), up)?.target.id);
  assert.deepEqual(ids, ['t0', 't2', 't3', 't0', 't2', 't3']);
  down.clear();
  assert.deepEqual(
    Array.from({ length: 4 }, () => rr.pick(req(), up)?.target.id),
    ['t0', 't1', 't2', 't3'],
  );
});

test('round robin finds nothing when every target is down', () => {
  const rr = roundRobin(fakeTargets(3));
  assert.equal(
    rr.pick(req(), () => false),
    undefined,
  );
});
