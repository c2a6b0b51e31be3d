import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invalidationUris, primaryKey, type RequestTarget, uriOf, variantKey } from './key.ts';

const target = (over: Partial<RequestTarget> = {}): RequestTarget => ({
  protocol: 'http',
  host: 'API.example:8080',
  path: '/items',
  query: '?page=2',
  headers: {},
  ...over,
});

test('the URI is scheme, lowercased host, path and (unless configured off) the query', () => {
  assert.equal(uriOf(target(), true), 'http://api.example:8080/items?page=2');
  assert.equal(uriOf(target(), false), 'http://api.example:8080/items');
  assert.notEqual(uriOf(target({ path: '/Items' }), true), uriOf(target(), true), 'paths are case-sensitive');
});

test('configured key headers split the primary key; absent and empty values differ', () => {
  const uri = uriOf(target(), true);
  const opts = { query: true, headers: ['x-tenant'] };
  const acme = primaryKey(uri, target({ headers: { 'x-tenant': 'acme' } }), opts);
  const globex = primaryKey(uri, target({ headers: { 'x-tenant': 'globex' } }), opts);
  const none = primaryKey(uri, target(), opts);
  const empty = primaryKey(uri, target({ headers: { 'x-tenant': '' } }), opts);
  assert.equal(new Set([acme, globex, none, empty]).size, 4);
  assert.equal(primaryKey(uri, target(), { query: true, headers: [] }), uri);
});

test('Vary selects a variant by the named request fields, normalizing list whitespace (RFC 9111 §4.1)', () => {
  const p = 'http://a/x';
  const vary = ['accept-encoding', 'accept-language'];
  const k = (headers: Record<string, string>) => variantKey(p, vary, headers);
  assert.equal(
    k({ 'accept-language': 'en,de', 'accept-encoding': 'gzip' }),
    k({ 'accept-language': 'en, de', 'accept-encoding': 'gzip' }),
  );
  assert.notEqual(k({ 'accept-language': 'en' }), k({ 'accept-language': 'de' }));
  assert.notEqual(k({ 'accept-language': 'en' }), k({ 'accept-language': 'en', 'accept-encoding': 'br' }));
  assert.notEqual(k({}), k({ 'accept-language': '' }), 'absent is not empty');
  assert.equal(variantKey(p, [], { 'accept-language': 'en' }), p, 'no Vary: the primary key is the key');
  assert.equal(
    k({ 'accept-language': 'en', cookie: 'a' }),
    k({ 'accept-language': 'en', cookie: 'b' }),
    'unnamed fields do not matter',
  );
});

test('invalidation reaches Location and Content-Location on the same origin only (RFC 9111 §4.4)', () => {
  const uri = 'http://api.example/items';
  assert.deepEqual(invalidationUris(uri, '/items/7', 'http://api.example/items/7?v=1', true), [
    uri,
    'http://api.example/items/7',
    'http://api.example/items/7?v=1',
  ]);
  assert.deepEqual(invalidationUris(uri, 'https://other.example/items/7', undefined, true), [uri]);
  assert.deepEqual(invalidationUris(uri, 'items/7?x=1', undefined, false), [
    uri,
    'http://api.example/items/7',
  ]);
  assert.deepEqual(invalidationUris(uri, 'http://[bad', undefined, true), [uri]);
});
