import assert from 'node:assert/strict';
import { sign as edSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Value } from 'typebox/value';
import { createVerifier, type VerifyConfig, verifySchema } from './index.ts';
import { json, NOW_S, now, rejects, tamper } from './test-helpers.ts';

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
const SECRET = whsec();
const OLD = whsec();
const ID = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
const body = json({ type: 'invoice.paid', timestamp: '2026-01-01T00:00:00Z', data: { id: 'inv_1' } });

/** An Ed25519 pair as Standard Webhooks strings: whpk_ = raw public key, whsk_ = seed ‖ public key. */
function edPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const d = Buffer.from(jwk.d!, 'base64url');
  return {
    privateKey,
    publicKey,
    whpk: `whpk_${x.toString('base64')}`,
    whsk: `whsk_${Buffer.concat([d, x]).toString('base64')}`,
  };
}

const verifier = (secrets: string[], extra: object = {}) =>
  createVerifier(
    Value.Default(verifySchema, { provider: 'standard-webhooks', secrets, ...extra }) as VerifyConfig,
    {
      now,
    },
  );

/** Signed by the standardwebhooks reference library, not by our code. */
const headers = (secret: string, ts = NOW_S, payload = body, id = ID) => ({
  'webhook-id': id,
  'webhook-timestamp': String(ts),
  'webhook-signature': new Webhook(secret).sign(id, new Date(ts * 1000), payload.toString()),
});

test('a delivery signed by the standardwebhooks library passes with its signed id and JSON type', () => {
  assert.deepEqual(verifier([SECRET]).verify({ headers: headers(SECRET), body }), {
    provider: 'standard-webhooks',
    id: ID,
    type: 'invoice.paid',
    idSigned: true,
    signedAtMs: NOW_S * 1000,
    secretIndex: 0,
  });
});

test('Svix’s svix-id, svix-timestamp and svix-signature headers are read when webhook-* are absent', () => {
  const h = headers(SECRET);
  const svix = {
    'svix-id': h['webhook-id'],
    'svix-timestamp': h['webhook-timestamp'],
    'svix-signature': h['webhook-signature'],
  };
  assert.equal(verifier([SECRET]).verify({ headers: svix, body }).id, ID);
});

test('a wrong secret, a tampered body or a changed id is webhook_signature_invalid', () => {
  rejects(() => verifier([SECRET]).verify({ headers: headers(OLD), body }), 'webhook_signature_invalid', [
    SECRET,
    SECRET.slice(6),
  ]);
  rejects(
    () => verifier([SECRET]).verify({ headers: headers(SECRET), body: tamper(body, 7) }),
    'webhook_signature_invalid',
  );
  rejects(
    () => verifier([SECRET]).verify({ headers: { ...headers(SECRET), 'webhook-id': 'msg_other' }, body }),
    'webhook_signature_invalid',
  );
});

test('rotation: a header with signatures by both keys, or by the old key alone, passes', () => {
  const v = verifier([SECRET, OLD]);
  assert.equal(v.verify({ headers: headers(OLD), body }).secretIndex, 1);
  const both = `${headers(whsec())['webhook-signature']} ${headers(OLD)['webhook-signature']}`;
  assert.equal(v.verify({ headers: { ...headers(SECRET), 'webhook-signature': both }, body }).secretIndex, 1);
});

test('outside ±5 minutes is webhook_timestamp_stale', () => {
  const v = verifier([SECRET]);
  assert.ok(v.verify({ headers: headers(SECRET, NOW_S - 300), body }));
  rejects(() => v.verify({ headers: headers(SECRET, NOW_S - 301), body }), 'webhook_timestamp_stale');
  rejects(() => v.verify({ headers: headers(SECRET, NOW_S + 301), body }), 'webhook_timestamp_stale');
});

test('each of the three headers is required', () => {
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    const h: Record<string, string> = headers(SECRET);
    delete h[name];
    rejects(() => verifier([SECRET]).verify({ headers: h, body }), 'webhook_signature_missing');
  }
});

test('unknown versions are ignored, but a list with no v1 or v1a, too many entries or a bad timestamp is malformed', () => {
  const v = verifier([SECRET]);
  const good = headers(SECRET)['webhook-signature'];
  const withSig = (s: string) => ({ ...headers(SECRET), 'webhook-signature': s });
  assert.ok(v.verify({ headers: withSig(`v2,abc ${good} garbage`), body }));
  rejects(() => v.verify({ headers: withSig('v2,abc garbage'), body }), 'webhook_signature_malformed');
  rejects(
    () => v.verify({ headers: withSig(Array(17).fill(good).join(' ')), body }),
    'webhook_signature_malformed',
  );
  rejects(
    () => v.verify({ headers: withSig(`${good} ${'v1,'.padEnd(5000, 'A')}`), body }),
    'webhook_signature_malformed',
  );
  rejects(
    () => v.verify({ headers: { ...headers(SECRET), 'webhook-timestamp': '2026-01-01T00:00:00Z' }, body }),
    'webhook_signature_malformed',
  );
  rejects(
    () => v.verify({ headers: withSig('v1,@@@@ v1,AAAA v1a,===='), body }),
    'webhook_signature_invalid',
  );
});

test('v1a: an Ed25519 signature verifies against a whpk_ public key; another key’s does not', () => {
  const pair = edPair();
  const other = edPair();
  const content = Buffer.concat([Buffer.from(`${ID}.${NOW_S}.`), body]);
  const v1a = (key = pair.privateKey) => `v1a,${edSign(null, content, key).toString('base64')}`;
  const h = (sig: string) => ({
    'webhook-id': ID,
    'webhook-timestamp': String(NOW_S),
    'webhook-signature': sig,
  });
  const v = verifier([SECRET, pair.whpk]);
  assert.equal(v.verify({ headers: h(v1a()), body }).secretIndex, 1);
  rejects(() => v.verify({ headers: h(v1a(other.privateKey)), body }), 'webhook_signature_invalid');
  rejects(() => v.verify({ headers: h(v1a()), body: tamper(body) }), 'webhook_signature_invalid');
});

test('a header mixing v1 and v1a entries passes on whichever key the source holds', () => {
  const pair = edPair();
  const content = Buffer.concat([Buffer.from(`${ID}.${NOW_S}.`), body]);
  const mixed = `${headers(SECRET)['webhook-signature']} v1a,${edSign(null, content, pair.privateKey).toString('base64')}`;
  const h = { ...headers(SECRET), 'webhook-signature': mixed };
  assert.equal(verifier([pair.whpk]).verify({ headers: h, body }).secretIndex, 0);
  assert.equal(verifier([whsec(), SECRET]).verify({ headers: h, body }).secretIndex, 1);
});

test('an id containing "." is malformed: it could shift what the signature covers', () => {
  const h = headers(SECRET, NOW_S, body, 'msg.1');
  rejects(() => verifier([SECRET]).verify({ headers: h, body }), 'webhook_signature_malformed');
});

test('unusable keys are webhook_secret_missing when the verifier is built', () => {
  const pair = edPair();
  const cases = [[''], [pair.whsk], ['whpk_AAAA'], ['whsec_'], ['sk_plain'], ['whsec_a*b=']];
  for (const secrets of cases)
    rejects(
      () => verifier(secrets),
      'webhook_secret_missing',
      secrets.filter((s) => s.length > 6),
    );
});
