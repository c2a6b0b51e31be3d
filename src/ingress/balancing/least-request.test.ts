import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leastRequest } from './least-request.ts';
import { fakeTargets, req, seeded } from './testing.ts';

function counts(ids: (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ids) if (id !== undefined) out[id] = (out[id] ?? 0) + 1;
  return out;
}

test('least request spreads evenly when every target is equally loaded (ties are random)', () => {
  const targets = fakeTargets(4);
  const lr = leastRequest(targets, seeded(1));
  const c = counts(Array.from({ length: 8_000 }, () => lr.pick(req(), () => true)?.target.id));
  for (const t of targets) assert.ok(c[t.id]! > 1_600 && c[t.id]! < 2_400, `${t.id}: ${c[t.id]}`);
});

test('of two choices least request takes the one with fewer in flight', () => {
  const targets = fakeTargets(2);
  const [a, b] = targets as [(typeof targets)[0], (typeof targets)[0]];
  a.inflight = 3;
  b.inflight = 2;
  const lr = leastRequest([a, b], seeded(2));
  for (let i = 0; i < 100; i++) assert.equal(lr.pick(req(), () => true)?.target, b);
});

test('power of two choices: the most loaded of several targets is never picked, the least most often', () => {
  const targets = fakeTargets(5);
  targets.forEach((t, i) => {
    t.inflight = i * 10;
  });
  const lr = leastRequest(targets, seeded(3));
  const c = counts(Array.from({ length: 5_000 }, () => lr.pick(req(), () => true)?.target.id));
  assert.equal(c.t4, undefined);
  // t0 wins every pair it is in: 2/5 of the picks (4 of the 10 pairs).
  assert.ok(c.t0! > 1_700 && c.t0! < 2_300, `t0: ${c.t0}`);
  assert.ok(c.t0! > c.t1! && c.t1! > c.t2! && c.t2! > c.t3!);
});

test('least request picks only targets in rotation, and nothing when none is', () => {
  const targets = fakeTargets(3);
  targets[0]!.inflight = 0;
  targets[1]!.inflight = 50;
  targets[2]!.inflight = 100;
  const lr = leastRequest(targets, seeded(4));
  const notT0 = (t: { id: string }) => t.id !== 't0';
  for (let i = 0; i < 50; i++) assert.equal(lr.pick(req(), notT0)?.target.id, 't1');
  assert.equal(lr.pick(req(), (t) => t.id === 't2')?.target.id, 't2');
  assert.equal(
    lr.pick(req(), () => false),
    undefined,
  );
});
