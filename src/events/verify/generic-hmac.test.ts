import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { sign } from '@octokit/webhooks-methods';
import { Value } from 'typebox/value';
import { parseTemplate } from './generic-hmac.ts';
import { createVerifier, type VerifyConfig, verifySchema } from './index.ts';
import { json, NOW_S, now, rejects, tamper } from './test-helpers.ts';

const SECRET = 'partner-shared-secret';
const OLD = 'partner-previous-secret';
const body = json({ delivery: 'd_81', kind: 'shipment.updated' });

const verifier = (config: object) =>
  createVerifier(
    Value.Default(verifySchema, { provider: 'hmac', secrets: [SECRET], ...config }) as VerifyConfig,
    {
      now,
    },
  );

const mac = (
  alg: string,
  secret: string | Buffer,
  content: string | Buffer,
  enc: 'hex' | 'base64' | 'base64url',
) => createHmac(alg, secret).update(content).digest(enc);

test('configured as GitHub’s scheme, it verifies what @octokit/webhooks-methods signs', async () => {
  const v = verifier({ header: 'x-hub-signature-256', prefix: 'sha256=' });
  const result = v.verify({ headers: { 'x-hub-signature-256': await sign(SECRET, body.toString()) }, body });
  assert.equal(result.provider, 'hmac');
  assert.equal(result.secretIndex, 0);
});

test('{timestamp}.{body} with SHA-512 in base64: passes, and stale, future or moved timestamps fail', () => {
  const v = verifier({
    header: 'x-partner-signature',
    algorithm: 'sha512',
    encoding: 'base64',
    signedContent: '{timestamp}.{body}',
    timestampHeader: 'x-partner-timestamp',
    toleranceS: 60,
  });
  const h = (ts: number, sigTs = ts) => ({
    'x-partner-signature': mac('sha512', SECRET, `${sigTs}.${body.toString()}`, 'base64'),
    'x-partner-timestamp': String(ts),
  });
  assert.equal(v.verify({ headers: h(NOW_S), body }).signedAtMs, NOW_S * 1000);
  rejects(() => v.verify({ headers: h(NOW_S - 61), body }), 'webhook_timestamp_stale');
  rejects(() => v.verify({ headers: h(NOW_S + 61), body }), 'webhook_timestamp_stale');
  rejects(() => v.verify({ headers: h(NOW_S, NOW_S - 10), body }), 'webhook_signature_invalid');
  rejects(
    () => v.verify({ headers: { 'x-partner-signature': h(NOW_S)['x-partner-signature'] }, body }),
    'webhook_signature_missing',
  );
  rejects(
    () => v.verify({ headers: { ...h(NOW_S), 'x-partner-timestamp': 'now' }, body }),
    'webhook_signature_malformed',
  );
  rejects(() => v.verify({ headers: h(NOW_S), body: tamper(body) }), 'webhook_signature_invalid');
});

test('a signed {id} is required and reported as signed; an unsigned idHeader is only informative', () => {
  const signedId = verifier({
    header: 'x-sig',
    signedContent: '{id}:{body}',
    idHeader: 'x-delivery-id',
    typeHeader: 'x-event-type',
  });
  const headers = {
    'x-sig': mac('sha256', SECRET, `d_81:${body.toString()}`, 'hex'),
    'x-delivery-id': 'd_81',
    'x-event-type': 'shipment.updated',
  };
  assert.deepEqual(signedId.verify({ headers, body }), {
    provider: 'hmac',
    id: 'd_81',
    type: 'shipment.updated',
    idSigned: true,
    signedAtMs: undefined,
    secretIndex: 0,
  });
  rejects(
    () => signedId.verify({ headers: { ...headers, 'x-delivery-id': 'd_82' }, body }),
    'webhook_signature_invalid',
  );
  rejects(
    () => signedId.verify({ headers: { 'x-sig': headers['x-sig'] }, body }),
    'webhook_signature_missing',
  );

  const unsigned = verifier({ header: 'x-sig', idHeader: 'x-delivery-id' });
  const h = { 'x-sig': mac('sha256', SECRET, body, 'hex') };
  assert.equal(unsigned.verify({ headers: h, body }).id, undefined);
  assert.equal(unsigned.verify({ headers: { ...h, 'x-delivery-id': 'd_81' }, body }).idSigned, false);
});

test('a separator splits several signatures (one prefix up front or one per entry); any one passes', () => {
  const v = createVerifier(
    Value.Default(verifySchema, {
      provider: 'hmac',
      secrets: [SECRET, OLD],
      header: 'x-outpost-signature',
      prefix: 'v0=',
      separator: ',',
    }) as VerifyConfig,
  );
  const a = mac('sha256', 'unknown', body, 'hex');
  const b = mac('sha256', OLD, body, 'hex');
  assert.equal(v.verify({ headers: { 'x-outpost-signature': `v0=${a},${b}` }, body }).secretIndex, 1);
  assert.equal(v.verify({ headers: { 'x-outpost-signature': `v0=${a}, v0=${b}` }, body }).secretIndex, 1);
  rejects(
    () => v.verify({ headers: { 'x-outpost-signature': `${a},${b}` }, body }),
    'webhook_signature_malformed',
  );
  rejects(
    () => v.verify({ headers: { 'x-outpost-signature': `v0=${Array(17).fill(a).join(',')}` }, body }),
    'webhook_signature_malformed',
  );
  rejects(
    () => v.verify({ headers: { 'x-outpost-signature': `v0=${a}` }, body }),
    'webhook_signature_invalid',
  );
});

test('sha1 and base64url encodings, and secrets given in hex or base64', () => {
  const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  for (const secretEncoding of ['hex', 'base64'] as const) {
    const v = createVerifier(
      Value.Default(verifySchema, {
        provider: 'hmac',
        secrets: [key.toString(secretEncoding)],
        secretEncoding,
        header: 'x-sig',
        algorithm: 'sha1',
        encoding: 'base64url',
      }) as VerifyConfig,
    );
    assert.ok(v.verify({ headers: { 'x-sig': mac('sha1', key, body, 'base64url') }, body }));
    rejects(
      () => v.verify({ headers: { 'x-sig': mac('sha1', key, body, 'hex') }, body }),
      'webhook_signature_invalid',
    );
  }
  rejects(
    () => verifier({ header: 'x-sig', secretEncoding: 'hex', secrets: ['xyz'] }),
    'webhook_secret_missing',
  );
});

test('templates that do not fit their headers are refused when the verifier is built', () => {
  for (const [config, message] of [
    [{ signedContent: '{timestamp}' }, /exactly once/],
    [{ signedContent: '{body}{body}' }, /exactly once/],
    [{ signedContent: '{timestamp}.{body}' }, /set timestampHeader/],
    [{ timestampHeader: 'x-ts' }, /unsigned timestamp/],
    [{ signedContent: '{id}.{body}' }, /set idHeader/],
  ] as const) {
    assert.throws(() => verifier({ header: 'x-sig', ...config }), message);
  }
  assert.deepEqual(parseTemplate('v0:{timestamp}:{body}'), [
    'v0:',
    { field: 'timestamp' },
    ':',
    { field: 'body' },
  ]);
});
