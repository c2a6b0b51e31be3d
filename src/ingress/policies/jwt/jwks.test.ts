import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors, exportJWK, generateKeyPair, type JWK } from 'jose';
import { JwksCache, JwksFetchError } from './jwks.ts';

async function publicJwk(kid: string): Promise<JWK> {
  const { publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg: 'ES256' };
}

/** A JWKS "server" behind a fake fetch, and a clock the test moves. */
function setup(keys: JWK[], opts: { cooldownMs?: number; cacheMaxAgeMs?: number } = {}) {
  const state = { keys, clock: 1_000_000, fail: false, calls: 0 };
  const fakeFetch = (async () => {
    state.calls++;
    if (state.fail) return new Response('down', { status: 503 });
    return Response.json({ keys: state.keys });
  }) as typeof fetch;
  const errorsSeen: Error[] = [];
  const cache = new JwksCache({
    url: 'https://id.example/jwks',
    cacheMaxAgeMs: opts.cacheMaxAgeMs ?? 600_000,
    cooldownMs: opts.cooldownMs ?? 30_000,
    timeoutMs: 1000,
    now: () => state.clock,
    fetch: fakeFetch,
    onError: (e) => errorsSeen.push(e),
  });
  const get = (kid: string) => cache.getKey({ alg: 'ES256', kid }, { payload: '', signature: '' });
  return { state, cache, get, errorsSeen };
}

test('keys are fetched once and then served from the cache', async () => {
  const { state, get } = setup([await publicJwk('a')]);
  for (let i = 0; i < 100; i++) await get('a');
  assert.equal(state.calls, 1);
});

test('an unknown kid refetches once the cooldown has passed, and finds a rotated-in key', async () => {
  const { state, get } = setup([await publicJwk('a')]);
  await get('a');
  state.keys.push(await publicJwk('b'));
  // Within the cooldown of the first fetch: refused without asking the endpoint.
  await assert.rejects(get('b'), errors.JWKSNoMatchingKey);
  assert.equal(state.calls, 1);
  state.clock += 30_000;
  await get('b');
  assert.equal(state.calls, 2);
});

test('a flood of tokens with made-up kids costs at most one fetch per cooldown', async () => {
  const { state, get } = setup([await publicJwk('a')], { cooldownMs: 30_000 });
  await get('a');
  state.clock += 30_000;
  const flood = Array.from({ length: 500 }, (_, i) => get(`random-${i}`).catch((e: Error) => e));
  for (const r of await Promise.all(flood)) assert.ok(r instanceof errors.JWKSNoMatchingKey);
  assert.equal(state.calls, 2, 'the 500 concurrent misses shared one fetch');
  for (let s = 0; s < 29; s++) {
    state.clock += 1000;
    await assert.rejects(get(`later-${s}`), errors.JWKSNoMatchingKey);
  }
  assert.equal(state.calls, 2, 'none during the cooldown');
  state.clock += 1000;
  await assert.rejects(get('after-cooldown'), errors.JWKSNoMatchingKey);
  assert.equal(state.calls, 3);
});

test('keys older than cacheMaxAgeMs are refetched', async () => {
  const { state, get } = setup([await publicJwk('a')], { cacheMaxAgeMs: 60_000, cooldownMs: 1000 });
  await get('a');
  state.clock += 59_999;
  await get('a');
  assert.equal(state.calls, 1);
  state.clock += 1;
  await get('a');
  assert.equal(state.calls, 2);
});

test('a failed refresh keeps the last good keys, and failures are rate limited too', async () => {
  const { state, get, errorsSeen } = setup([await publicJwk('a')], {
    cacheMaxAgeMs: 60_000,
    cooldownMs: 10_000,
  });
  await get('a');
  state.fail = true;
  state.clock += 60_000;
  await get('a'); // stale, refresh fails, old keys still verify
  assert.equal(state.calls, 2);
  assert.match(errorsSeen[0]!.message, /answered 503/);
  for (let i = 0; i < 50; i++) await assert.rejects(get(`x${i}`), errors.JWKSNoMatchingKey);
  await get('a');
  assert.equal(state.calls, 2, 'no fetch within the cooldown of the failed one');
});

test('with no keys ever fetched, a failing endpoint is a JwksFetchError, retried only after the cooldown', async () => {
  const { state, get } = setup([await publicJwk('a')], { cooldownMs: 5000 });
  state.fail = true;
  await assert.rejects(get('a'), JwksFetchError);
  await assert.rejects(get('a'), JwksFetchError);
  assert.equal(state.calls, 1);
  state.fail = false;
  state.clock += 5000;
  await get('a');
  assert.equal(state.calls, 2);
});

test('symmetric keys in a JWKS are ignored (RFC 8725 §2.1)', async () => {
  const { cache, state } = setup([
    { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', kid: 'h', alg: 'HS256' },
  ]);
  // jose's own JWKS refuses HS algs as well; the filter in JwksCache is the second lock.
  await assert.rejects(
    cache.getKey({ alg: 'HS256', kid: 'h' }, { payload: '', signature: '' }),
    errors.JOSEError,
  );
  await assert.rejects(
    cache.getKey({ alg: 'ES256', kid: 'h' }, { payload: '', signature: '' }),
    errors.JWKSNoMatchingKey,
  );
  assert.equal(state.calls, 1);
});
