import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  API_KEY_SECRET,
  API_KEY_SECRET_PATTERN,
  hashSecret,
  lookupPrefix,
  mintSecret,
  secretMatches,
} from './secret.ts';

test('a minted secret is jk_<12 lookup chars>_<43 base64url chars>, and its prefix is the lookup part', () => {
  const { secret, prefix, hash } = mintSecret();
  assert.match(secret, API_KEY_SECRET);
  assert.equal(secret.length, 3 + 12 + 1 + 43);
  assert.equal(secret.slice(3, 15), prefix);
  assert.equal(lookupPrefix(secret), prefix);
  assert.equal(hash, createHash('sha256').update(secret).digest('hex'));
  assert.equal(hashSecret(secret), hash);
});

test('secrets and prefixes do not repeat', () => {
  const minted = Array.from({ length: 2_000 }, () => mintSecret());
  assert.equal(new Set(minted.map((m) => m.secret)).size, minted.length);
  assert.equal(new Set(minted.map((m) => m.prefix)).size, minted.length);
});

test('only the exact secret matches its digest', () => {
  const { secret, hash } = mintSecret();
  assert.equal(secretMatches(secret, hash), true);
  assert.equal(secretMatches(`${secret}x`, hash), false);
  assert.equal(secretMatches(secret.slice(0, -1), hash), false);
  assert.equal(secretMatches(secret, 'not hex'), false);
});

test('anything not shaped like a secret has no lookup prefix, and a key id is not a secret', () => {
  for (const s of [
    '',
    'jk_',
    'jk_0C8ZK3M4N5P6Q',
    `jk_ILOU00000000_${'A'.repeat(43)}`,
    `jk_abcdefgh2345_${'A'.repeat(42)}`,
    `${mintSecret().secret} `,
  ]) {
    assert.equal(lookupPrefix(s), undefined, s);
  }
});

test('the scan pattern finds secrets inside log text', () => {
  const { secret } = mintSecret();
  const line = `{"msg":"oops","header":"${secret}","id":"jk_0C8ZK3M4N5P6Q"}`;
  assert.deepEqual(line.match(API_KEY_SECRET_PATTERN), [secret]);
});
