import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCookie, setCookie } from './cookies.ts';
import { stickyCookie } from './sticky-cookie.ts';
import { fakeTargets, req } from './testing.ts';

test('readCookie finds one cookie among several, unquoting it; the first of a repeated name wins', () => {
  assert.equal(readCookie('jx_affinity=t1', 'jx_affinity'), 't1');
  assert.equal(readCookie('a=1;  jx_affinity=t2 ;b=3', 'jx_affinity'), 't2');
  assert.equal(readCookie('a=1; jx_affinity="t3"', 'jx_affinity'), 't3');
  assert.equal(readCookie('xjx_affinity=t4; jx_affinity=t5; jx_affinity=t6', 'jx_affinity'), 't5');
  assert.equal(readCookie(['a=1', 'jx_affinity=t7'], 'jx_affinity'), 't7');
  assert.equal(readCookie('a=1; broken; b=2', 'jx_affinity'), undefined);
  assert.equal(readCookie(undefined, 'jx_affinity'), undefined);
  assert.equal(readCookie('jx_affinity=', 'jx_affinity'), '');
});

test('setCookie writes HttpOnly, SameSite=Lax and Path=/, with Max-Age and Secure when asked', () => {
  assert.equal(setCookie('jx_affinity', 't1'), 'jx_affinity=t1; Path=/; HttpOnly; SameSite=Lax');
  assert.equal(
    setCookie('s', 't1', { maxAgeS: 3600, secure: true }),
    's=t1; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure',
  );
});

test('a request without the cookie is balanced round robin and told its target', () => {
  const sticky = stickyCookie(fakeTargets(2), { name: 'jx_affinity' });
  const first = sticky.pick(req(), () => true);
  const second = sticky.pick(req(), () => true);
  assert.equal(first?.target.id, 't0');
  assert.equal(first?.setCookie, 'jx_affinity=t0; Path=/; HttpOnly; SameSite=Lax');
  assert.equal(second?.target.id, 't1');
  assert.equal(second?.setCookie, 'jx_affinity=t1; Path=/; HttpOnly; SameSite=Lax');
});

test('a request with the cookie of a target in rotation goes there and gets no new cookie', () => {
  const sticky = stickyCookie(fakeTargets(3), { name: 'jx_affinity' });
  for (let i = 0; i < 5; i++) {
    const choice = sticky.pick(req({ cookie: 'other=1; jx_affinity=t2' }), () => true);
    assert.deepEqual(choice && { id: choice.target.id, setCookie: choice.setCookie }, {
      id: 't2',
      setCookie: undefined,
    });
  }
});

test('a cookie naming an unknown or down target re-picks and re-sets the cookie', () => {
  const sticky = stickyCookie(fakeTargets(2), { name: 'jx_affinity', maxAgeS: 60 });
  const unknown = sticky.pick(req({ cookie: 'jx_affinity=nope' }), () => true);
  assert.equal(unknown?.target.id, 't0');
  assert.equal(unknown?.setCookie, 'jx_affinity=t0; Path=/; HttpOnly; SameSite=Lax; Max-Age=60');
  const down = sticky.pick(req({ cookie: 'jx_affinity=t0' }), (t) => t.id !== 't0');
  assert.equal(down?.target.id, 't1');
  assert.match(down?.setCookie ?? '', /^jx_affinity=t1;/);
  assert.equal(
    sticky.pick(req({ cookie: 'jx_affinity=t0' }), () => false),
    undefined,
  );
});
