import assert from 'node:assert/strict';
import { test } from 'node:test';
import Stripe from 'stripe';
import { Value } from 'typebox/value';
import { createVerifier, MAX_SIGNATURE_ENTRIES, type VerifyConfig, verifySchema } from './index.ts';
import { json, NOW_S, now, rejects, tamper } from './test-helpers.ts';

// Signed by Stripe's own SDK, not by our code.
const stripe = new Stripe('sk_test_junction');
const SECRET = 'whsec_test_current0123456789abcdef';
const OLD = 'whsec_test_previous0123456789abcdef';
const body = json({ id: 'evt_1Q2w3E4r5T6y', object: 'event', type: 'payment_intent.succeeded', data: {} });

const verifier = (secrets: string[], extra: object = {}) =>
  createVerifier(Value.Default(verifySchema, { provider: 'stripe', secrets, ...extra }) as VerifyConfig, {
    now,
  });

const header = (secret: string, timestamp = NOW_S, payload = body) =>
  stripe.webhooks.generateTestHeaderString({ payload: payload.toString(), secret, timestamp });

const v1Of = (h: string) => h.split(',').find((p) => p.startsWith('v1='))!;

test('a delivery signed by the Stripe SDK passes and yields the event id and type', () => {
  const result = verifier([SECRET]).verify({ headers: { 'stripe-signature': header(SECRET) }, body });
  assert.deepEqual(result, {
    provider: 'stripe',
    id: 'evt_1Q2w3E4r5T6y',
    type: 'payment_intent.succeeded',
    idSigned: true,
    signedAtMs: NOW_S * 1000,
    secretIndex: 0,
  });
});

test('a wrong secret, or one flipped byte of the body, is webhook_signature_invalid without revealing the secret', () => {
  rejects(
    () => verifier([SECRET]).verify({ headers: { 'stripe-signature': header(OLD) }, body }),
    'webhook_signature_invalid',
    [SECRET, OLD],
  );
  for (const at of [0, body.length - 1]) {
    rejects(
      () =>
        verifier([SECRET]).verify({
          headers: { 'stripe-signature': header(SECRET) },
          body: tamper(body, at),
        }),
      'webhook_signature_invalid',
    );
  }
});

test('during a rotation either secret passes, and secretIndex tells which', () => {
  const v = verifier([SECRET, OLD]);
  assert.equal(v.verify({ headers: { 'stripe-signature': header(SECRET) }, body }).secretIndex, 0);
  assert.equal(v.verify({ headers: { 'stripe-signature': header(OLD) }, body }).secretIndex, 1);
});

test('an empty secret (an unset optional variable) is skipped; secretIndex still counts configured positions', () => {
  assert.equal(
    verifier(['', SECRET]).verify({ headers: { 'stripe-signature': header(SECRET) }, body }).secretIndex,
    1,
  );
  assert.throws(() => verifier(['', '']), { code: 'webhook_secret_missing' });
});

test('several v1 signatures (Stripe rolling a secret): any one matching passes, v0 is ignored', () => {
  const wrong = v1Of(header(OLD));
  const right = v1Of(header(SECRET));
  const h = `t=${NOW_S},${wrong},v0=${'0'.repeat(64)},${right}`;
  assert.equal(
    verifier([SECRET]).verify({ headers: { 'stripe-signature': h }, body }).id,
    'evt_1Q2w3E4r5T6y',
  );
});

test('a timestamp older or newer than the 300 s default tolerance is webhook_timestamp_stale', () => {
  const v = verifier([SECRET]);
  assert.ok(v.verify({ headers: { 'stripe-signature': header(SECRET, NOW_S - 300) }, body }));
  rejects(
    () => v.verify({ headers: { 'stripe-signature': header(SECRET, NOW_S - 301) }, body }),
    'webhook_timestamp_stale',
  );
  rejects(
    () => v.verify({ headers: { 'stripe-signature': header(SECRET, NOW_S + 301) }, body }),
    'webhook_timestamp_stale',
  );
  assert.ok(
    verifier([SECRET], { toleranceS: 600 }).verify({
      headers: { 'stripe-signature': header(SECRET, NOW_S - 500) },
      body,
    }),
  );
});

test('a missing Stripe-Signature is webhook_signature_missing', () => {
  rejects(() => verifier([SECRET]).verify({ headers: {}, body }), 'webhook_signature_missing');
  rejects(
    () => verifier([SECRET]).verify({ headers: { 'stripe-signature': '' }, body }),
    'webhook_signature_missing',
  );
});

test('malformed Stripe-Signature headers are webhook_signature_malformed', () => {
  const v = verifier([SECRET]);
  const right = v1Of(header(SECRET));
  for (const h of [
    right, // no t=
    `t=${NOW_S}`, // no v1=
    `t=${NOW_S},t=${NOW_S},${right}`, // two timestamps
    `t=1e9,${right}`, // not digits
    `t=-${NOW_S},${right}`,
    `t=${NOW_S}.5,${right}`,
    `t=${NOW_S},${right},${'x'.repeat(5000)}`, // oversize
    `t=${NOW_S},${Array.from({ length: MAX_SIGNATURE_ENTRIES }, () => right).join(',')}`, // too many entries
  ]) {
    rejects(() => v.verify({ headers: { 'stripe-signature': h }, body }), 'webhook_signature_malformed');
  }
  rejects(
    () => v.verify({ headers: { 'stripe-signature': [header(SECRET), header(SECRET)] }, body }),
    'webhook_signature_malformed',
  );
});

test('a v1 of the wrong length or not hex can never match: webhook_signature_invalid', () => {
  const v = verifier([SECRET]);
  const hex = v1Of(header(SECRET)).slice(3);
  for (const sig of [hex.slice(0, 62), `${hex}00`, `${hex.slice(0, 63)}g`, '']) {
    rejects(
      () => v.verify({ headers: { 'stripe-signature': `t=${NOW_S},v1=${sig}` }, body }),
      'webhook_signature_invalid',
    );
  }
});

test('the upper-case hex of a valid signature passes (hex is compared as bytes)', () => {
  const h = header(SECRET).replace(/v1=([0-9a-f]+)/, (_m, hex: string) => `v1=${hex.toUpperCase()}`);
  assert.ok(verifier([SECRET]).verify({ headers: { 'stripe-signature': h }, body }));
});

test('a body that is not JSON still verifies, without an id', () => {
  const raw = Buffer.from('not json');
  const result = verifier([SECRET]).verify({
    headers: { 'stripe-signature': header(SECRET, NOW_S, raw) },
    body: raw,
  });
  assert.equal(result.id, undefined);
});
