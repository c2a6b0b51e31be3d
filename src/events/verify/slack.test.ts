import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { createVerifier, type VerifyConfig, verifySchema } from './index.ts';
import { json, NOW_S, now, rejects, tamper } from './test-helpers.ts';

// Computed independently per api.slack.com/authentication/verifying-requests-from-slack:
// 'v0=' + hex(HMAC-SHA256(signing secret, 'v0:' + timestamp + ':' + raw body)).
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const OLD = '0c8d3a1f9e7b6a5d4c3b2a1908f7e6d5';
const body = json({
  token: 'XXYYZZ',
  team_id: 'T123ABC456',
  type: 'event_callback',
  event_id: 'Ev0PV52K21',
  event_time: NOW_S,
  event: { type: 'app_mention', text: '<@U0LAN0Z89> is it everything a river should be?' },
});
const sig = (secret: string, ts: number | string, payload: Buffer = body) =>
  `v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(payload).digest('hex')}`;

const verifier = (secrets: string[], extra: object = {}) =>
  createVerifier(Value.Default(verifySchema, { provider: 'slack', secrets, ...extra }) as VerifyConfig, {
    now,
  });

const headers = (secret: string, ts: number | string = NOW_S, payload?: Buffer) => ({
  'x-slack-signature': sig(secret, ts, payload),
  'x-slack-request-timestamp': String(ts),
});

test('an Events API request passes with its event_id and the inner event type', () => {
  assert.deepEqual(verifier([SECRET]).verify({ headers: headers(SECRET), body }), {
    provider: 'slack',
    id: 'Ev0PV52K21',
    type: 'app_mention',
    idSigned: true,
    signedAtMs: NOW_S * 1000,
    secretIndex: 0,
  });
});

test('Slack’s documented example signature verifies (a form-encoded slash command, so no id)', () => {
  // The worked example on api.slack.com/authentication/verifying-requests-from-slack.
  const raw = Buffer.from(
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  );
  const v = createVerifier(
    Value.Default(verifySchema, { provider: 'slack', secrets: [SECRET] }) as VerifyConfig,
    { now: () => 1_531_420_618_000 },
  );
  const result = v.verify({
    headers: {
      'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      'x-slack-request-timestamp': '1531420618',
    },
    body: raw,
  });
  assert.equal(result.id, undefined);
  assert.equal(result.type, undefined);
});

test('a wrong secret or a tampered body is webhook_signature_invalid; rotation accepts the old secret', () => {
  rejects(() => verifier([SECRET]).verify({ headers: headers(OLD), body }), 'webhook_signature_invalid', [
    SECRET,
  ]);
  rejects(
    () => verifier([SECRET]).verify({ headers: headers(SECRET), body: tamper(body, 3) }),
    'webhook_signature_invalid',
  );
  assert.equal(verifier([SECRET, OLD]).verify({ headers: headers(OLD), body }).secretIndex, 1);
});

test('the timestamp is signed: moving it to fresh time breaks the signature', () => {
  const h = { ...headers(SECRET, NOW_S - 1000), 'x-slack-request-timestamp': String(NOW_S) };
  rejects(() => verifier([SECRET]).verify({ headers: h, body }), 'webhook_signature_invalid');
});

test('outside the 5 minute window, past or future, is webhook_timestamp_stale', () => {
  const v = verifier([SECRET]);
  assert.ok(v.verify({ headers: headers(SECRET, NOW_S + 300), body }));
  rejects(() => v.verify({ headers: headers(SECRET, NOW_S - 301), body }), 'webhook_timestamp_stale');
  rejects(() => v.verify({ headers: headers(SECRET, NOW_S + 301), body }), 'webhook_timestamp_stale');
});

test('missing signature or timestamp is webhook_signature_missing; junk is malformed', () => {
  const v = verifier([SECRET]);
  const { 'x-slack-signature': s, 'x-slack-request-timestamp': t } = headers(SECRET);
  rejects(() => v.verify({ headers: { 'x-slack-request-timestamp': t }, body }), 'webhook_signature_missing');
  rejects(() => v.verify({ headers: { 'x-slack-signature': s }, body }), 'webhook_signature_missing');
  for (const ts of ['abc', '1e9', ' 1767225600', '0x69557c00', '9'.repeat(13)])
    rejects(
      () =>
        v.verify({
          headers: { 'x-slack-signature': sig(SECRET, ts), 'x-slack-request-timestamp': ts },
          body,
        }),
      'webhook_signature_malformed',
    );
  rejects(
    () =>
      v.verify({
        headers: { 'x-slack-signature': s.replace('v0=', 'v1='), 'x-slack-request-timestamp': t },
        body,
      }),
    'webhook_signature_malformed',
  );
});
