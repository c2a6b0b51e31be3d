import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { SessionRecord } from '../../../store/index.ts';
import { decodeKey, isToken, randomToken, Sealer, sha256 } from './crypto.ts';
import { openToken, sealTokens } from './tokens.ts';

const key = () => randomBytes(32);

test('a sealed token opens with its key and context, and with nothing else', () => {
  const sealer = new Sealer(1, key(), new Map());
  const sealed = sealer.seal('refresh-token-value', 'abc:refresh_token');
  assert.match(sealed, /^1\.[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes('refresh-token-value'));
  assert.equal(sealer.open(sealed, 'abc:refresh_token'), 'refresh-token-value');
  assert.equal(sealer.open(sealed, 'abd:refresh_token'), undefined, 'another row');
  assert.equal(sealer.open(sealed, 'abc:access_token'), undefined, 'another column');
  assert.equal(new Sealer(1, key(), new Map()).open(sealed, 'abc:refresh_token'), undefined, 'another key');
  const body = Buffer.from(sealed.slice(2), 'base64url');
  body[14]! ^= 1;
  assert.equal(sealer.open(`1.${body.toString('base64url')}`, 'abc:refresh_token'), undefined, 'altered');
  for (const junk of ['', '1.', 'x', '2.AAAA', `9.${sealed.slice(2)}`])
    assert.equal(sealer.open(junk, 'abc:x'), undefined);
});

test('every seal uses a fresh IV: the same token never seals the same way twice', () => {
  const sealer = new Sealer(1, key(), new Map());
  assert.notEqual(sealer.seal('t', 'a'), sealer.seal('t', 'a'));
});

test('after a key rotation old ciphertexts still open, and a refresh seals every column under the new key', () => {
  const oldKey = key();
  const v1 = new Sealer(1, oldKey, new Map());
  const id = sha256('cookie');
  const session = {
    id,
    ...sealTokens(
      v1,
      id,
      { access_token: 'a1', refresh_token: 'r1', id_token: 'i1', token_type: 'bearer', expires_in: 60 },
      undefined,
      0,
    ),
  } as SessionRecord;
  assert.equal(session.keyVersion, 1);
  assert.equal(session.accessExpiresAt, 60_000);
  const v2 = new Sealer(2, key(), new Map([[1, oldKey]]));
  assert.equal(openToken(v2, session, 'refresh_token'), 'r1');
  // The provider did not rotate the refresh token nor send an ID token: both are kept, resealed.
  const next = sealTokens(v2, id, { access_token: 'a2', token_type: 'bearer' }, session, 1000);
  assert.equal(next.keyVersion, 2);
  for (const column of [next.accessToken, next.refreshToken, next.idToken]) assert.match(column!, /^2\./);
  const after = { ...session, ...next };
  assert.deepEqual(
    [
      openToken(v2, after, 'access_token'),
      openToken(v2, after, 'refresh_token'),
      openToken(v2, after, 'id_token'),
    ],
    ['a2', 'r1', 'i1'],
  );
  assert.equal(next.accessExpiresAt, 1000 + 300_000, 'no expires_in: assume five minutes');
  assert.equal(
    openToken(new Sealer(2, key(), new Map()), after, 'refresh_token'),
    undefined,
    'retired key dropped',
  );
});

test('session ids are 256-bit base64url tokens; keys must be 32 bytes', () => {
  const t = randomToken();
  assert.ok(isToken(t));
  assert.notEqual(randomToken(), t);
  for (const bad of [undefined, '', `${t}x`, t.slice(1), `${t.slice(1)}=`, `${t.slice(1)}.`])
    assert.equal(isToken(bad), false);
  assert.equal(decodeKey(randomBytes(32).toString('base64url')).length, 32);
  assert.throws(() => decodeKey(randomBytes(16).toString('base64')), RangeError);
});
