import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSubjectAltName } from './san.ts';

test('reads every DNS, URI, IP and email SAN in certificate order', () => {
  const names = parseSubjectAltName(
    'DNS:api.internal, URI:spiffe://acme.test/ns/billing, IP Address:10.0.0.1, email:ops@acme.test, DNS:b.internal',
  );
  assert.deepEqual(names, {
    dns: ['api.internal', 'b.internal'],
    uri: ['spiffe://acme.test/ns/billing'],
    ip: ['10.0.0.1'],
    email: ['ops@acme.test'],
    all: ['api.internal', 'spiffe://acme.test/ns/billing', '10.0.0.1', 'ops@acme.test', 'b.internal'],
  });
  assert.deepEqual(parseSubjectAltName(undefined).all, []);
  assert.deepEqual(parseSubjectAltName('').all, []);
});

test('a quoted name holding ", URI:" stays one name and cannot forge a second (CVE-2021-44532)', () => {
  const names = parseSubjectAltName('DNS:"evil.test\\u002c URI:spiffe://acme.test/ns/admin", DNS:ok.test');
  assert.deepEqual(names.uri, []);
  assert.deepEqual(names.dns, ['evil.test, URI:spiffe://acme.test/ns/admin', 'ok.test']);
});

test('kinds it does not use are skipped, and reading stops at malformed text', () => {
  assert.deepEqual(parseSubjectAltName('othername:<unsupported>, DNS:a.test').all, ['a.test']);
  assert.deepEqual(parseSubjectAltName('DNS:a.test, DNS:"unterminated, URI:spiffe://x/y').all, ['a.test']);
});
