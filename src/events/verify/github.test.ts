import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sign } from '@octokit/webhooks-methods';
import { Value } from 'typebox/value';
import { createVerifier, type VerifyConfig, verifySchema } from './index.ts';
import { json, rejects, tamper } from './test-helpers.ts';

// Signed by GitHub's own Octokit helper, not by our code.
const SECRET = 'ünïcode secret ✓';
const OLD = 'previous secret';
const body = json({ action: 'opened', number: 42, repository: { full_name: 'octo/hello' } });
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

const verifier = (secrets: string[]) =>
  createVerifier(Value.Default(verifySchema, { provider: 'github', secrets }) as VerifyConfig);

const headers = async (secret: string, payload = body) => ({
  'x-hub-signature-256': await sign(secret, payload.toString()),
  'x-github-delivery': DELIVERY,
  'x-github-event': 'pull_request',
});

test('a delivery signed by @octokit/webhooks-methods passes with its delivery id and event (unsigned)', async () => {
  const result = verifier([SECRET]).verify({ headers: await headers(SECRET), body });
  assert.deepEqual(result, {
    provider: 'github',
    id: DELIVERY,
    type: 'pull_request',
    idSigned: false,
    signedAtMs: undefined,
    secretIndex: 0,
  });
});

test('GitHub’s documented test vector verifies', () => {
  // docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  const result = verifier(["It's a Secret to Everybody"]).verify({
    headers: { 'x-hub-signature-256': signature },
    body: Buffer.from('Hello, World!'),
  });
  assert.equal(result.secretIndex, 0);
});

test('no X-Hub-Signature-256 is webhook_signature_missing', () => {
  rejects(
    () => verifier([SECRET]).verify({ headers: { 'x-github-delivery': DELIVERY }, body }),
    'webhook_signature_missing',
  );
});

test('a wrong secret or a tampered body is webhook_signature_invalid', async () => {
  const h = await headers(SECRET);
  rejects(() => verifier([OLD]).verify({ headers: h, body }), 'webhook_signature_invalid', [SECRET, OLD]);
  rejects(
    () => verifier([SECRET]).verify({ headers: h, body: tamper(body, 10) }),
    'webhook_signature_invalid',
  );
});

test('old and new secrets both verify while a secret is rotated', async () => {
  const v = verifier([SECRET, OLD]);
  assert.equal(v.verify({ headers: await headers(OLD), body }).secretIndex, 1);
  assert.equal(v.verify({ headers: await headers(SECRET), body }).secretIndex, 0);
});

test('a header without sha256=, or an oversize one, is malformed; a short or non-hex digest is invalid', async () => {
  const { 'x-hub-signature-256': good } = await headers(SECRET);
  const v = verifier([SECRET]);
  for (const bad of [good.slice(7), `sha1=${good.slice(7)}`, `sha256=${'a'.repeat(300)}`])
    rejects(() => v.verify({ headers: { 'x-hub-signature-256': bad }, body }), 'webhook_signature_malformed');
  for (const bad of [good.slice(0, -2), `${good.slice(0, -1)}z`, 'sha256='])
    rejects(() => v.verify({ headers: { 'x-hub-signature-256': bad }, body }), 'webhook_signature_invalid');
  rejects(
    () => v.verify({ headers: { 'x-hub-signature-256': good, 'x-github-delivery': 'd'.repeat(257) }, body }),
    'webhook_signature_malformed',
  );
});
