import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { decodeSignature, hmac, matchingKey } from './crypto.ts';

const digest = createHmac('sha256', 'k').update('body').digest();

test('decodeSignature takes only well-formed values of exactly the digest length', () => {
  assert.deepEqual(decodeSignature(digest.toString('hex'), 'hex', 32), digest);
  assert.deepEqual(decodeSignature(digest.toString('hex').toUpperCase(), 'hex', 32), digest);
  assert.deepEqual(decodeSignature(digest.toString('base64'), 'base64', 32), digest);
  assert.deepEqual(decodeSignature(digest.toString('base64url'), 'base64url', 32), digest);
  const b64 = digest.toString('base64');
  for (const [text, encoding] of [
    [digest.toString('hex').slice(2), 'hex'],
    [`${digest.toString('hex')}00`, 'hex'],
    [`${digest.toString('hex').slice(1)}x`, 'hex'],
    [b64.slice(0, -4), 'base64'],
    [`${b64}AAAA`, 'base64'],
    [`${b64.slice(0, -2)}*=`, 'base64'],
    [b64.replace(/[+/]/g, '-').padEnd(44, '='), 'base64'],
    [' '.repeat(44), 'base64'],
    ['', 'hex'],
    ['', 'base64'],
  ] as const)
    assert.equal(decodeSignature(text, encoding, 32), undefined, `${encoding} ${text}`);
});

test('matchingKey computes one MAC per key, whatever the number of candidates, and finds any match', () => {
  const keys = ['a', 'b', 'c'].map((k) => Buffer.from(k));
  let macs = 0;
  const mac = (key: Uint8Array) => {
    macs++;
    return hmac('sha256', key, ['body']);
  };
  const wrong = Array.from({ length: 15 }, (_, i) => Buffer.alloc(32, i));
  const right = hmac('sha256', Buffer.from('c'), ['bo', Buffer.from('dy')]);
  assert.equal(matchingKey(keys, mac, [...wrong, right]), 2);
  assert.equal(macs, 3);
  assert.equal(matchingKey(keys, mac, wrong), -1);
  assert.equal(matchingKey(keys, mac, []), -1);
  assert.equal(matchingKey(keys, mac, [Buffer.alloc(31)]), -1);
});
