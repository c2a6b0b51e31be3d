/**
 * `auth.jwt` end to end (Q21): a gateway on a real socket in front of an echo upstream, tokens signed
 * with jose keys, and a JWKS served from a local server that counts its hits.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ERROR_DOCS_BASE } from '../src/core/problem.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { AUDIENCE, ISSUER, sign, startJwks, type TestKey, testKey, unsecured } from './helpers/jwt.ts';
import { startUpstream } from './helpers/upstream.ts';

async function setup(t: TestContext, jwks: Record<string, unknown> = {}) {
  const rs = await testKey('RS256', 'rs-1');
  const es = await testKey('ES256', 'es-1');
  const keys = await startJwks(t, [rs.jwk, es.jwk]);
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'orders',
        match: { path: '/orders/*' },
        proxy: { upstream: 'app' },
        policies: {
          'auth.jwt': {
            jwks: { url: keys.url, ...jwks },
            algorithms: ['RS256'],
            issuer: ISSUER,
            audience: AUDIENCE,
            forward: { claims: { sub: 'x-junction-principal', tenant: 'x-junction-tenant' } },
          },
        },
      },
    ],
  });
  return { rs, es, keys, up, gw };
}

const get = (url: string, token?: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    headers: { ...headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  });

async function assertInvalid(res: Response) {
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const problem = (await res.json()) as Record<string, unknown>;
  assert.equal(problem.code, 'jwt_invalid');
  assert.equal(problem.type, `${ERROR_DOCS_BASE}jwt_invalid`);
  // One answer for every failed check: the detail names none of them.
  assert.equal(problem.detail, undefined);
}

test('a valid token reaches the upstream with its claims forwarded, forged copies dropped', async (t) => {
  const { rs, up, gw } = await setup(t);
  const token = await sign(rs, { sub: 'alice', tenant: 'acme' });
  const res = await get(gw.url('/orders/1'), token, { 'x-junction-principal': 'admin' });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const seen = up.seen.at(-1)!.headers;
  assert.equal(seen['x-junction-principal'], 'alice');
  assert.equal(seen['x-junction-tenant'], 'acme');
  assert.equal(seen.authorization, `Bearer ${token}`);
});

test('no token: 401 jwt_missing with WWW-Authenticate: Bearer and no upstream call', async (t) => {
  const { up, gw } = await setup(t);
  const res = await get(gw.url('/orders/1'));
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  assert.equal(((await res.json()) as { code: string }).code, 'jwt_missing');
  assert.equal(up.seen.length, 0);
});

test('expired, not yet valid, wrong issuer, wrong audience: each 401 jwt_invalid', async (t) => {
  const { rs, up, gw } = await setup(t);
  const bad = [
    await sign(rs, {}, { expiresInS: -31 }), // past the default 30 s tolerance
    await sign(rs, {}, { notBeforeInS: 120 }), // well past it: with 31, one tick of the clock brings it inside
    await sign(rs, { iss: 'https://evil.example' }),
    await sign(rs, { aud: 'another-service' }),
  ];
  for (const token of bad) await assertInvalid(await get(gw.url('/orders/1'), token));
  assert.equal(up.seen.length, 0);
  // Inside the tolerance it passes.
  const late = await get(gw.url('/orders/1'), await sign(rs, {}, { expiresInS: -10 }));
  assert.equal(late.status, 200);
  await late.arrayBuffer();
});

test('an algorithm outside the allowlist is refused even with a key the JWKS has', async (t) => {
  const { es, gw } = await setup(t);
  await assertInvalid(await get(gw.url('/orders/1'), await sign(es)));
});

test('an unsecured alg:none token is refused', async (t) => {
  const { gw } = await setup(t);
  await assertInvalid(await get(gw.url('/orders/1'), unsecured({ sub: 'alice' })));
});

test('HS/RS confusion: an HS256 token MACed with the RS public key is refused', async (t) => {
  const { rs, gw } = await setup(t);
  const publicForms = [rs.pem, JSON.stringify(rs.jwk), rs.jwk.n!];
  for (const secret of publicForms) {
    const forged = await sign({ alg: 'HS256', kid: rs.kid, privateKey: new TextEncoder().encode(secret) });
    await assertInvalid(await get(gw.url('/orders/1'), forged));
  }
});

test('JWKS keys are cached: many requests, one fetch', async (t) => {
  const { rs, keys, gw } = await setup(t);
  const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => sign(rs, { sub: `user-${i}` })));
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      tokens.map(async (token) => {
        const res = await get(gw.url('/orders/1'), token);
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }),
    );
  }
  assert.equal(keys.hits(), 1);
});

test('a new kid is fetched after the cooldown, and a flood of unknown kids fetches at most once per cooldown', async (t) => {
  const cooldownMs = 1000;
  const { rs, keys, gw } = await setup(t, { cooldownMs });
  // Signed up front, so the clock below measures requests, not RSA signing.
  const made = await Promise.all(Array.from({ length: 200 }, (_, i) => sign({ ...rs, kid: `made-up-${i}` })));
  const next: TestKey = await testKey('RS256', 'rs-2');
  const rotatedToken = await sign(next);
  const ok = await get(gw.url('/orders/1'), await sign(rs));
  assert.equal(ok.status, 200);
  await ok.arrayBuffer();
  assert.equal(keys.hits(), 1);

  // Rotation: a second RS key appears in the JWKS; its first token triggers the refetch.
  keys.serve([rs.jwk, next.jwk]);
  await sleep(cooldownMs + 50);
  const rotated = await get(gw.url('/orders/1'), rotatedToken);
  assert.equal(rotated.status, 200);
  await rotated.arrayBuffer();
  assert.equal(keys.hits(), 2);

  /** Sends the tokens at once; returns how many cooldowns could have ended meanwhile. */
  const flood = async (tokens: string[]) => {
    const started = performance.now();
    const answers = await Promise.all(tokens.map((token) => get(gw.url('/orders/1'), token)));
    for (const res of answers) await assertInvalid(res);
    return Math.floor((performance.now() - started) / cooldownMs);
  };
  // 200 made-up kids right after a fetch: the endpoint is not asked again (barring a slow machine).
  const spare = await flood(made);
  assert.ok(keys.hits() <= 2 + spare, `${keys.hits()} fetches`);
  // After the cooldown a new flood costs one fetch, not one per token.
  await sleep(cooldownMs + 50);
  const before = keys.hits();
  const spare2 = await flood(made.slice(0, 100));
  assert.ok(
    keys.hits() >= before + 1 && keys.hits() <= before + 1 + spare2,
    `${keys.hits() - before} fetches`,
  );
});

test('a static key that does not fit its algorithm stops the gateway from starting', async (t) => {
  const es = await testKey('ES256');
  await assert.rejects(
    startTestGateway(t, {
      routes: [
        {
          name: 'orders',
          match: { path: '/orders/*' },
          respond: { status: 200 },
          policies: { 'auth.jwt': { keys: [{ alg: 'RS256', pem: es.pem }], algorithms: ['RS256'] } },
        },
      ],
    }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'config_invalid');
      assert.match(err.message, /route orders: auth\.jwt: keys\[0\]: RS256 needs a rsa key, not ec/);
      return true;
    },
  );
});
