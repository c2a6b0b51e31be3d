import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestContext } from '../../../core/policy.ts';
import { fingerprintOf, parseKey, scopeOf } from './key.ts';

test('a key is one field of 1..255 printable ASCII characters, bare (Stripe) or quoted (RFC 8941)', () => {
  assert.equal(parseKey(undefined), undefined);
  assert.equal(parseKey([]), undefined);
  assert.equal(parseKey(['8e03978e-40d5-43e8-bc93-6894a57f9324']), '8e03978e-40d5-43e8-bc93-6894a57f9324');
  assert.equal(parseKey(['"8e03978e-40d5"']), '8e03978e-40d5');
  assert.equal(parseKey(['"a \\"quoted\\" \\\\ key"']), 'a "quoted" \\ key');
  assert.equal(parseKey(['with space']), 'with space');
  assert.equal(parseKey(['k'.repeat(255)]), 'k'.repeat(255));
  for (const bad of [
    ['k'.repeat(256)],
    [''],
    ['""'],
    ['"open'],
    ['"a"b"'],
    ['"\\x"'],
    ['caf\u00e9'],
    ['tab\there'],
    ['a', 'b'],
  ]) {
    assert.equal(parseKey(bad), null, JSON.stringify(bad));
  }
});

test('the scope is the principal, else the client IP, else one anonymous scope', () => {
  const ctx = (principal?: string) =>
    ({
      clientIp: '203.0.113.9',
      slots: principal === undefined ? {} : { principal: { id: principal } },
    }) as unknown as RequestContext;
  assert.equal(scopeOf(ctx('jk_0001'), 'ip'), 'p:jk_0001');
  assert.equal(scopeOf(ctx('jk_0001'), 'none'), 'p:jk_0001');
  assert.equal(scopeOf(ctx(), 'ip'), 'ip:203.0.113.9');
  assert.equal(scopeOf(ctx(), 'none'), 'anonymous');
});

test('the fingerprint covers method, target and body', () => {
  const base = fingerprintOf('POST', '/payments', Buffer.from('{"a":1}'));
  assert.match(base, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(fingerprintOf('POST', '/payments', Buffer.from('{"a":1}')), base);
  for (const other of [
    fingerprintOf('PATCH', '/payments', Buffer.from('{"a":1}')),
    fingerprintOf('POST', '/payments?x=1', Buffer.from('{"a":1}')),
    fingerprintOf('POST', '/payments', Buffer.from('{"a":2}')),
    // The separator keeps target and body apart: moving bytes across it changes the hash.
    fingerprintOf('POST', '/payments\n', Buffer.from('{"a":1}')),
  ]) {
    assert.notEqual(other, base);
  }
});
