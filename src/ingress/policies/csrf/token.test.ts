import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { bindingOf, mintToken, sameToken, tokenValid } from './token.ts';

test('a token verifies for the session it was minted for, and for no other', () => {
  const key = randomBytes(32);
  const alice = bindingOf('alice-session-cookie');
  const token = mintToken(key, alice);
  assert.match(token, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
  assert.equal(tokenValid(key, alice, token), true);
  assert.equal(tokenValid(key, bindingOf('bob-session-cookie'), token), false, 'another session');
  assert.equal(tokenValid(key, bindingOf(undefined), token), false, 'no session');
  assert.equal(tokenValid(randomBytes(32), alice, token), false, 'another secret');
  const [random, mac] = token.split('.');
  assert.equal(tokenValid(key, alice, `${random}x.${mac}`), false, 'random part altered');
  for (const junk of [undefined, '', '.', token.replace('.', ''), `${token}.x`, 'a'.repeat(300)]) {
    assert.equal(tokenValid(key, alice, junk), false, String(junk));
  }
  assert.notEqual(mintToken(key, alice), token, 'fresh randomness per token');
});

test('header and cookie comparison is exact', () => {
  assert.equal(sameToken('abc', 'abc'), true);
  assert.equal(sameToken('abc', 'abd'), false);
  assert.equal(sameToken('abc', 'abcd'), false);
});
