import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { createVerifier, type VerifyConfig, verifySchema } from './index.ts';
import { json, rejects, tamper } from './test-helpers.ts';

// No Shopify package signs; this follows shopify.dev "Verify the webhook": base64 HMAC-SHA256 of
// the raw body keyed with the app's client secret.
const SECRET = 'shpss_0123456789abcdef0123456789abcdef';
const OLD = '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';
const body = json({ id: 820982911946154500, email: 'jon@example.com', total_price: '19.99' });
const mac = (secret: string, payload: Buffer) =>
  createHmac('sha256', secret).update(payload).digest('base64');

const verifier = (secrets: string[]) =>
  createVerifier(Value.Default(verifySchema, { provider: 'shopify', secrets }) as VerifyConfig);

const headers = (sig: string) => ({
  'x-shopify-hmac-sha256': sig,
  'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  'x-shopify-topic': 'orders/create',
  'x-shopify-shop-domain': 'junction-demo.myshopify.com',
});

test('a Shopify delivery passes with its webhook id and topic (unsigned)', () => {
  const result = verifier([SECRET]).verify({ headers: headers(mac(SECRET, body)), body });
  assert.deepEqual(result, {
    provider: 'shopify',
    id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    type: 'orders/create',
    idSigned: false,
    signedAtMs: undefined,
    secretIndex: 0,
  });
});

test('a wrong secret or a tampered body is webhook_signature_invalid', () => {
  rejects(
    () => verifier([SECRET]).verify({ headers: headers(mac(OLD, body)), body }),
    'webhook_signature_invalid',
    [SECRET, mac(SECRET, body)],
  );
  rejects(
    () => verifier([SECRET]).verify({ headers: headers(mac(SECRET, body)), body: tamper(body, 5) }),
    'webhook_signature_invalid',
  );
});

test('both client secrets verify while one is rotated', () => {
  assert.equal(verifier([SECRET, OLD]).verify({ headers: headers(mac(OLD, body)), body }).secretIndex, 1);
});

test('no X-Shopify-Hmac-Sha256 is webhook_signature_missing', () => {
  rejects(
    () => verifier([SECRET]).verify({ headers: { 'x-shopify-topic': 'orders/create' }, body }),
    'webhook_signature_missing',
  );
});

test('bad base64, a hex digest, a truncated or oversize value are rejected without a throw from decoding', () => {
  const good = mac(SECRET, body);
  const v = verifier([SECRET]);
  for (const bad of [
    `${good.slice(0, -2)}!=`,
    createHmac('sha256', SECRET).update(body).digest('hex'),
    good.slice(0, 40),
    `${good.replace(/=$/, '')}==`,
    Buffer.from(good, 'base64').toString('base64url'),
  ]) {
    rejects(() => v.verify({ headers: headers(bad), body }), 'webhook_signature_invalid');
  }
  rejects(() => v.verify({ headers: headers('A'.repeat(1000)), body }), 'webhook_signature_malformed');
});
