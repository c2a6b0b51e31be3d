import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeReturnPath } from './return-to.ts';

test('paths on this site are accepted, normalized', () => {
  assert.equal(safeReturnPath('/'), '/');
  assert.equal(safeReturnPath('/orders?page=2&sort=-date'), '/orders?page=2&sort=-date');
  assert.equal(safeReturnPath('/a/./b/../c'), '/a/c');
  assert.equal(safeReturnPath('/<script>'), '/%3Cscript%3E');
  assert.equal(safeReturnPath('/next?to=//evil.example'), '/next?to=//evil.example', 'a query is only data');
  assert.equal(safeReturnPath('/x#fragment'), '/x');
});

test('anything that could leave the site is refused (RFC 9700 §4.11)', () => {
  for (const input of [
    '',
    'orders',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'https://evil.example/',
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/.//evil.example',
    '/a/../..//evil.example',
    '/\t/evil.example',
    '/ok\r\nlocation: https://evil.example',
    '/ok\u0000',
    `/${'a'.repeat(2048)}`,
  ]) {
    assert.equal(safeReturnPath(input), undefined, JSON.stringify(input));
  }
});
