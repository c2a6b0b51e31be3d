import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { stripeSignature, verifyStandardWebhook } from './webhooks.ts';

const stripe = new Stripe('sk_test_demo');

test('stripeSignature is the header stripe-node generates, and stripe-node accepts it', () => {
  const body = JSON.stringify({
    id: 'evt_1',
    type: 'payment_intent.succeeded',
    data: { object: { amount: 1 } },
  });
  const secret = 'whsec_demo';
  const timestamp = Math.floor(Date.now() / 1000);
  assert.equal(
    stripeSignature(secret, body, timestamp),
    stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }),
  );
  const event = stripe.webhooks.constructEvent(body, stripeSignature(secret, body, timestamp), secret);
  assert.equal(event.id, 'evt_1');
});

test('verifyStandardWebhook accepts what the standardwebhooks library signs, and nothing else', () => {
  const secret = `whsec_${Buffer.from('a demo key of at least 24 bytes!').toString('base64')}`;
  const body = Buffer.from('{"type":"payment_intent.succeeded"}');
  const at = new Date();
  const headers = {
    'webhook-id': 'evt_039RMK8QR0000',
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign('evt_039RMK8QR0000', at, body.toString()),
  };
  assert.deepEqual(verifyStandardWebhook(secret, headers, body), { ok: true, id: 'evt_039RMK8QR0000' });
  // Several signatures (a rotation): any one matching passes.
  const rotated = { ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` };
  assert.equal(verifyStandardWebhook(secret, rotated, body).ok, true);

  const other = `whsec_${Buffer.from('another key, also 24 bytes long').toString('base64')}`;
  assert.deepEqual(verifyStandardWebhook(other, headers, body), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(verifyStandardWebhook(secret, headers, Buffer.from('{"type":"x"}')), {
    ok: false,
    reason: 'bad_signature',
  });
  assert.deepEqual(verifyStandardWebhook(secret, { ...headers, 'webhook-id': 'evt_other' }, body), {
    ok: false,
    reason: 'bad_signature',
  });
  assert.deepEqual(
    verifyStandardWebhook(secret, headers, body, { nowS: Math.floor(at.getTime() / 1000) + 301 }),
    { ok: false, reason: 'stale_timestamp' },
  );
  assert.deepEqual(verifyStandardWebhook(secret, { 'webhook-id': 'x' }, body), {
    ok: false,
    reason: 'missing_headers',
  });
});
