import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { errorCatalog } from '../../core/errors.ts';
import { createVerifier, type VerifyConfig, verifySchema } from './index.ts';

const check = Compile(verifySchema);
const withDefaults = (raw: object) => Value.Default(verifySchema, structuredClone(raw));

test('defaults fill per provider: 300 s tolerances, hex SHA-256 over {body} for hmac', () => {
  assert.deepEqual(withDefaults({ provider: 'stripe', secrets: ['whsec_a'] }), {
    provider: 'stripe',
    secrets: ['whsec_a'],
    toleranceS: 300,
  });
  const hmac = withDefaults({ provider: 'hmac', secrets: ['s'], header: 'x-sig' });
  assert.ok(check.Check(hmac));
  assert.deepEqual(hmac, {
    provider: 'hmac',
    secrets: ['s'],
    header: 'x-sig',
    secretEncoding: 'utf8',
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: '',
    signedContent: '{body}',
    toleranceS: 300,
  });
});

test('the schema refuses unknown providers and keys, bad secret shapes, too many secrets and unknown placeholders', () => {
  for (const raw of [
    { provider: 'paypal', secrets: ['x'] },
    { provider: 'github', secrets: ['x'], tolerance: 5 },
    { provider: 'github', secrets: [] },
    { provider: 'github', secrets: Array(11).fill('x') },
    { provider: 'stripe', secrets: ['sk_live_123'] },
    { provider: 'stripe', secrets: ['whsec_abc def'] },
    { provider: 'stripe', secrets: ['whsec_a'], toleranceS: 0 },
    { provider: 'standard-webhooks', secrets: ['whsec_not base64!'] },
    { provider: 'hmac', secrets: ['x'], header: 'x-sig', signedContent: '{payload}' },
    { provider: 'hmac', secrets: ['x'], header: 'x sig' },
    { provider: 'hmac', secrets: ['x'] },
  ])
    assert.equal(check.Check(withDefaults(raw)), false, JSON.stringify(raw));
});

test('an empty secret, as an unset optional variable leaves it, passes the schema and is skipped by the verifier', () => {
  const config = withDefaults({ provider: 'github', secrets: ['', 'current'] });
  assert.ok(check.Check(config));
  assert.equal(createVerifier(config as VerifyConfig).provider, 'github');
  assert.throws(() => createVerifier(withDefaults({ provider: 'shopify', secrets: [''] }) as VerifyConfig), {
    code: 'webhook_secret_missing',
    status: 500,
  });
});

test('the codes and their statuses', async () => {
  await import('./errors.ts');
  const codes = Object.fromEntries(
    errorCatalog()
      .filter((e) => e.code.startsWith('webhook_'))
      .map((e) => [e.code, e.status]),
  );
  assert.deepEqual(codes, {
    webhook_secret_missing: 500,
    webhook_signature_invalid: 401,
    webhook_signature_malformed: 400,
    webhook_signature_missing: 400,
    webhook_timestamp_stale: 401,
  });
});
