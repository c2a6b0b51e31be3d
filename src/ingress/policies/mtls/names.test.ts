import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anyOf, isSpiffeId, nameMatcher, SPIFFE_PATTERN, spiffeIdOf } from './names.ts';

test('SPIFFE ids follow the SPIFFE ID spec §2', () => {
  for (const ok of ['spiffe://acme.test', 'spiffe://acme.test/ns/billing/sa/api', 'spiffe://td_1/a.b-c_d'])
    assert.ok(isSpiffeId(ok), ok);
  for (const bad of [
    'spiffe://Acme.test/x', // trust domain is lower case
    'spiffe://acme.test/ns//x', // empty segment
    'spiffe://acme.test/ns/../admin',
    'spiffe://acme.test/x/',
    'spiffe://acme.test:443/x',
    'spiffe://user@acme.test/x',
    'spiffe://acme.test/x?q=1',
    'https://acme.test/x',
    `spiffe://acme.test/${'a'.repeat(2048)}`,
  ])
    assert.ok(!isSpiffeId(bad), bad);
});

test('a certificate with exactly one URI SAN that is a SPIFFE id is an SVID (X.509-SVID §2)', () => {
  assert.equal(spiffeIdOf(['spiffe://acme.test/a']), 'spiffe://acme.test/a');
  assert.equal(spiffeIdOf(['spiffe://acme.test/a', 'spiffe://acme.test/b']), undefined);
  assert.equal(spiffeIdOf(['https://acme.test/a']), undefined);
  assert.equal(spiffeIdOf([]), undefined);
});

test('a /* pattern matches everything under the path, not the path or its siblings', () => {
  const m = nameMatcher('spiffe://acme.test/ns/billing/*');
  assert.ok(m('spiffe://acme.test/ns/billing/sa/api'));
  assert.ok(m('spiffe://acme.test/ns/billing/x'));
  assert.ok(!m('spiffe://acme.test/ns/billing'));
  assert.ok(!m('spiffe://acme.test/ns/billing-admin/x'));
  assert.ok(!m('spiffe://other.test/ns/billing/x'));
  assert.match('spiffe://acme.test/ns/billing/*', new RegExp(SPIFFE_PATTERN));
  assert.doesNotMatch('spiffe://acme.test/ns/bil*', new RegExp(SPIFFE_PATTERN));
});

test('*.domain matches one DNS label below it; host names compare case-insensitively, others exactly', () => {
  const wild = nameMatcher('*.svc.internal');
  assert.ok(wild('billing.svc.internal'));
  assert.ok(wild('Billing.SVC.internal'));
  assert.ok(!wild('svc.internal'));
  assert.ok(!wild('a.billing.svc.internal'));
  assert.ok(nameMatcher('api.internal')('API.internal'));
  assert.ok(!nameMatcher('api.internal')('api.internal.evil'));
  assert.ok(nameMatcher('spiffe://acme.test/a')('spiffe://acme.test/a'));
  assert.ok(!nameMatcher('spiffe://acme.test/a')('spiffe://acme.test/A'));
  assert.ok(nameMatcher('Billing Service')('Billing Service'));
  assert.ok(!nameMatcher('Billing Service')('billing service'));
  assert.ok(anyOf(['a.test', '*.b.test'])('x.b.test'));
  assert.ok(!anyOf([])('a.test'));
});
