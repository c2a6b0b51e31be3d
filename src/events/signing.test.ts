import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createSigner, generateSecret, isWebhookSecret } from './signing.ts';

const body = JSON.stringify({ type: 'order.created', data: { id: 'ord_1', total: 4200 } });

test('a signature verifies with the independent standardwebhooks library', () => {
  const secret = generateSecret();
  const headers = createSigner([secret]).headers('evt_039RMK8QR0000', body);
  assert.equal(headers['webhook-id'], 'evt_039RMK8QR0000');
  assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/);
  assert.deepEqual(new Webhook(secret).verify(body, { ...headers }), JSON.parse(body));
});

test('during a rotation every secret signs, and receivers holding either one accept the message', () => {
  const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
  const headers = createSigner([newSecret, oldSecret]).headers('evt_1', body);
  assert.equal(headers['webhook-signature'].split(' ').length, 2);
  for (const secret of [oldSecret, newSecret]) new Webhook(secret).verify(body, { ...headers });
  assert.throws(() => new Webhook(generateSecret()).verify(body, { ...headers }), /No matching signature/);
});

test('bytes and the same text as a string sign alike; the timestamp is whole seconds of now', () => {
  const signer = createSigner([generateSecret()]);
  const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const fromString = signer.headers('evt_1', body, now);
  const fromBytes = signer.headers('evt_1', new TextEncoder().encode(body), now);
  assert.deepEqual(fromBytes, fromString);
  assert.equal(fromString['webhook-timestamp'], String(Math.floor(now / 1000)));
});

test('a binary body is signed over its bytes, not over a text decoding of them', () => {
  const secret = generateSecret();
  const bytes = Uint8Array.from([0xff, 0xfe, 0x00, 0x80]);
  const signer = createSigner([secret]);
  const latin = Buffer.from(bytes).toString('latin1');
  assert.notEqual(signer.sign('evt_1', 1, bytes), signer.sign('evt_1', 1, latin));
  // The reference computation of the spec, over the raw bytes.
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from('evt_1.1.'), bytes]))
    .digest('base64');
  assert.equal(signer.sign('evt_1', 1, bytes), `v1,${expected}`);
});

test('secrets without the whsec_ prefix, not base64, or shorter than 24 bytes are refused', () => {
  const short = `whsec_${Buffer.alloc(16, 1).toString('base64')}`;
  for (const bad of ['', 'abc', Buffer.alloc(32, 1).toString('base64'), 'whsec_not base64!', short]) {
    assert.equal(isWebhookSecret(bad), false, bad);
    assert.throws(() => createSigner([bad]), TypeError);
  }
  assert.throws(() => createSigner([]), TypeError);
  assert.ok(isWebhookSecret(generateSecret()));
});

test('an id with a period or a control character cannot be signed', () => {
  const signer = createSigner([generateSecret()]);
  for (const id of ['evt.1', '', 'evt 1', 'evt\n1'])
    assert.throws(() => signer.sign(id, 1, body), TypeError, id);
});
