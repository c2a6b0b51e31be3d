import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRing, consistentHash, lookup } from './consistent-hash.ts';
import { murmur3 } from './hash.ts';
import { hashKey } from './hash-key.ts';
import { fakeTargets, req } from './testing.ts';

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
const all = () => true;

/** key → owning target id on a ring of `targets`. */
function placement(targets: { id: string; inflight: number }[], isUp: (t: { id: string }) => boolean = all) {
  const ring = buildRing(targets);
  return new Map(KEYS.map((k) => [k, lookup(ring, murmur3(k), isUp)?.id]));
}

test('a ring of 10 targets gives each a fair share of 10 000 keys', () => {
  const shares = new Map<string | undefined, number>();
  for (const id of placement(fakeTargets(10)).values()) shares.set(id, (shares.get(id) ?? 0) + 1);
  assert.equal(shares.size, 10);
  // 160 virtual nodes each: every share within ±35 % of the mean of 1000.
  for (const [id, n] of shares) assert.ok(n > 650 && n < 1_350, `${id}: ${n}`);
});

test('removing one of 10 targets remaps only the keys that were on it', () => {
  const targets = fakeTargets(10);
  const before = placement(targets);
  const after = placement(targets.filter((t) => t.id !== 't3'));
  let moved = 0;
  for (const k of KEYS) {
    if (before.get(k) === 't3') {
      assert.notEqual(after.get(k), 't3');
      moved++;
    } else {
      assert.equal(after.get(k), before.get(k), `${k} moved though its target stayed`);
    }
  }
  assert.ok(moved > 0);
});

test('adding an 11th target moves about 1/11 of the keys, all of them to the new target', () => {
  const targets = fakeTargets(11);
  const before = placement(targets.slice(0, 10));
  const after = placement(targets);
  let moved = 0;
  for (const k of KEYS) {
    if (after.get(k) === before.get(k)) continue;
    assert.equal(after.get(k), 't10');
    moved++;
  }
  // 1/11 is 909 keys; allow for the ring's unevenness.
  assert.ok(moved > 500 && moved < 1_400, `${moved} keys moved`);
});

test('a target out of rotation is walked past exactly as if the ring had been rebuilt without it', () => {
  const targets = fakeTargets(10);
  const walked = placement(targets, (t) => t.id !== 't7');
  const rebuilt = placement(targets.filter((t) => t.id !== 't7'));
  assert.deepEqual([...walked], [...rebuilt]);
  assert.equal(
    lookup(buildRing(targets), 123, () => false),
    undefined,
  );
});

test('the ring does not depend on the order the targets are listed in', () => {
  const targets = fakeTargets(6);
  assert.deepEqual([...placement(targets)], [...placement([...targets].reverse())]);
});

test('consistent hash on a header sends a key to the same target every time', () => {
  const ch = consistentHash(fakeTargets(5), { header: 'X-Tenant' });
  const first = ch.pick(req({ 'x-tenant': 'acme' }), all)?.target.id;
  for (let i = 0; i < 20; i++) assert.equal(ch.pick(req({ 'x-tenant': 'acme' }), all)?.target.id, first);
  const others = new Set(KEYS.slice(0, 200).map((k) => ch.pick(req({ 'x-tenant': k }), all)?.target.id));
  assert.equal(others.size, 5);
});

test('consistent hash without its key balances round robin', () => {
  const ch = consistentHash(fakeTargets(3), { header: 'x-tenant' });
  const ids = Array.from({ length: 6 }, () => ch.pick(req(), all)?.target.id);
  assert.deepEqual(ids, ['t0', 't1', 't2', 't0', 't1', 't2']);
  assert.equal(ch.pick(req({ 'x-tenant': '' }), all)?.target.id, 't0');
});

test('hash keys come from a header, a cookie, a JWT claim or the client IP', () => {
  assert.equal(hashKey({ header: 'X-User' })(req({ 'x-user': 'u1' })), 'u1');
  assert.equal(hashKey({ header: 'x-user' })(req()), undefined);
  assert.equal(hashKey({ cookie: 'sid' })(req({ cookie: 'a=1; sid=abc; b=2' })), 'abc');
  assert.equal(hashKey({ cookie: 'sid' })(req({ cookie: 'a=1' })), undefined);
  assert.equal(hashKey({ claim: 'sub' })(req({}, '1.2.3.4', { sub: 'user-9' })), 'user-9');
  assert.equal(hashKey({ claim: 'tenant' })(req({}, '1.2.3.4', { tenant: 42 })), '42');
  assert.equal(hashKey({ claim: 'sub' })(req({}, '1.2.3.4', { sub: { nested: true } })), undefined);
  assert.equal(hashKey({ claim: 'sub' })(req()), undefined);
  assert.equal(hashKey({ clientIp: true })(req({}, '203.0.113.9')), '203.0.113.9');
});
