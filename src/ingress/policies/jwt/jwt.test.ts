import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { AUDIENCE, ISSUER, sign, testKey, unsecured } from '../../../../test/helpers/jwt.ts';
import type { AuditEntry } from '../../../core/audit.ts';
import { isJunctionError } from '../../../core/errors.ts';
import { Snowflake } from '../../../core/ids.ts';
import { createLogger } from '../../../core/logger.ts';
import { createMetrics } from '../../../core/metrics.ts';
import type { RequestContext } from '../../../core/policy.ts';
import type { Services } from '../../../core/services.ts';
import { type JwtConfig, jwt, jwtPolicy } from './index.ts';

function setup() {
  const audited: AuditEntry[] = [];
  const logger = createLogger({ level: 'silent' });
  const services = {
    logger,
    accessLogger: logger,
    metrics: createMetrics({ defaultMetrics: false }),
    ids: new Snowflake({ nodeId: 1 }),
    spans: undefined,
    audit: { record: (e: AuditEntry) => void audited.push(e), flush: async () => {} },
    redisUrl: undefined,
  } satisfies Services;
  return { audited, env: { routeName: 'orders', services } };
}

/** Config as YAML would give it: partial, defaults filled by the schema. */
const config = (c: object): JwtConfig => Value.Default(jwt.schema, structuredClone(c)) as JwtConfig;

function request(headers: Record<string, string> = {}) {
  return {
    id: 'req_jwt00000001',
    clientIp: '127.0.0.1',
    headers,
    upstreamHeaders: {} as Record<string, string>,
    responseHeaders: {} as Record<string, string>,
    slots: {},
  } as unknown as RequestContext;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** What a refusal looked like: code, status and WWW-Authenticate. */
async function refusal(run: () => unknown) {
  try {
    await run();
  } catch (err) {
    assert.ok(isJunctionError(err), String(err));
    return { code: err.code, status: err.status, challenge: err.headers?.['www-authenticate'] };
  }
  assert.fail('expected a refusal');
}

test('a valid token sets the principal and claims, and forwards mapped claims', async () => {
  const key = await testKey('RS256');
  const { env } = setup();
  const policy = jwtPolicy(
    config({
      keys: [{ kid: key.kid, alg: 'RS256', pem: key.pem }],
      algorithms: ['RS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      rolesClaim: 'realm_access.roles',
      forward: {
        claims: { sub: 'x-junction-principal', tenant: 'x-junction-tenant', email: 'x-user-email' },
      },
    }),
    env,
  );
  const token = await sign(key, {
    sub: 'alice',
    tenant: 't-1',
    realm_access: { roles: ['editor', 'viewer'] },
    scope: 'orders:read orders:write',
  });
  const ctx = request({ ...bearer(token), 'x-user-email': 'forged@example.com' });
  assert.equal(await policy.onRequest!(ctx), undefined);
  const p = ctx.slots.principal!;
  assert.deepEqual(
    { kind: p.kind, id: p.id, roles: p.roles, scopes: p.scopes, tenant: p.tenant },
    {
      kind: 'jwt',
      id: 'alice',
      roles: ['editor', 'viewer'],
      scopes: ['orders:read', 'orders:write'],
      tenant: 't-1',
    },
  );
  assert.equal(ctx.slots.claims?.iss, ISSUER);
  // The absent email claim still overrides (drops) the client's own copy of the header.
  assert.deepEqual(ctx.upstreamHeaders, {
    'x-junction-principal': 'alice',
    'x-junction-tenant': 't-1',
    'x-user-email': '',
  });
});

test('a token seen before is admitted synchronously from the cache, until it expires', async () => {
  const key = await testKey('ES256');
  let clock = Date.UTC(2030, 0, 1);
  const { env } = setup();
  const policy = jwtPolicy(config({ keys: [{ alg: 'ES256', jwk: key.jwk }], algorithms: ['ES256'] }), env, {
    now: () => clock,
  });
  const token = await sign(key, {}, { nowS: clock / 1000, expiresInS: 60 });
  assert.ok(policy.onRequest!(request(bearer(token))) instanceof Promise, 'first sight verifies');
  await policy.onRequest!(request(bearer(token)));
  assert.equal(policy.onRequest!(request(bearer(token))), undefined, 'a hit answers without a promise');
  clock += 90_000; // past exp + 30 s tolerance
  assert.deepEqual(await refusal(() => policy.onRequest!(request(bearer(token)))), {
    code: 'jwt_invalid',
    status: 401,
    challenge: 'Bearer error="invalid_token"',
  });
});

test('HS/RS confusion: an HS256 token keyed with the RS public key is refused (RFC 8725 §2.1)', async () => {
  const key = await testKey('RS256');
  const { env, audited } = setup();
  const policy = jwtPolicy(config({ keys: [{ alg: 'RS256', pem: key.pem }], algorithms: ['RS256'] }), env);
  for (const secret of [key.pem, Buffer.from(key.pem).toString('base64')]) {
    const forged = await sign(
      { alg: 'HS256', privateKey: new TextEncoder().encode(secret) },
      { sub: 'mallory' },
    );
    const ctx = request(bearer(forged));
    assert.equal((await refusal(() => policy.onRequest!(ctx))).code, 'jwt_invalid');
    assert.equal(ctx.slots.principal, undefined);
  }
  assert.deepEqual(
    audited.map((a) => a.reason),
    ['jwt_invalid:alg_not_allowed', 'jwt_invalid:alg_not_allowed'],
  );
});

test('HS/RS confusion with HS256 allowed too: the public key is never the HMAC secret', async () => {
  const key = await testKey('RS256');
  const { env, audited } = setup();
  const secret = 'a-real-shared-secret-of-32-bytes!!';
  const policy = jwtPolicy(
    config({
      keys: [
        { alg: 'RS256', pem: key.pem },
        { alg: 'HS256', secret },
      ],
      algorithms: ['RS256', 'HS256'],
    }),
    env,
  );
  const forged = await sign({ alg: 'HS256', privateKey: new TextEncoder().encode(key.pem) });
  assert.equal((await refusal(() => policy.onRequest!(request(bearer(forged))))).code, 'jwt_invalid');
  assert.equal(audited[0]!.reason, 'jwt_invalid:bad_signature');
  const honest = await sign({ alg: 'HS256', privateKey: new TextEncoder().encode(secret) });
  assert.equal(await policy.onRequest!(request(bearer(honest))), undefined);
});

test('alg none is refused even though the token has the right claims', async () => {
  const key = await testKey('RS256');
  const { env, audited } = setup();
  const policy = jwtPolicy(config({ keys: [{ alg: 'RS256', pem: key.pem }], algorithms: ['RS256'] }), env);
  assert.equal((await refusal(() => policy.onRequest!(request(bearer(unsecured({})))))).code, 'jwt_invalid');
  assert.equal(audited[0]!.reason, 'jwt_invalid:alg_not_allowed');
});

test('each failed check has its own audit reason; the client sees jwt_invalid for all', async () => {
  const key = await testKey('RS256');
  const other = await testKey('RS256');
  const { env, audited } = setup();
  const policy = jwtPolicy(
    config({
      keys: [{ alg: 'RS256', pem: key.pem }],
      algorithms: ['RS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['tenant'],
      clockToleranceS: 30,
    }),
    env,
  );
  const withTenant = { tenant: 't' };
  const cases: [string, string][] = [
    [await sign(key, withTenant, { expiresInS: -31 }), 'expired'],
    [await sign(key, withTenant, { notBeforeInS: 120 }), 'not_yet_valid'], // 31 would pass once a second ticks over
    [await sign(key, { ...withTenant, iss: 'https://evil.example' }), 'wrong_issuer'],
    [await sign(key, { ...withTenant, aud: 'someone-else' }), 'wrong_audience'],
    [await sign(other, withTenant), 'bad_signature'],
    [await sign(key, {}), 'missing_claim:tenant'],
    [await sign(key, { ...withTenant, sub: undefined }), 'missing_claim:sub'],
    [await sign(key, { ...withTenant, exp: undefined }), 'missing_claim:exp'],
    ['not.a.jwt', 'malformed'],
  ];
  for (const [token] of cases)
    assert.equal((await refusal(() => policy.onRequest!(request(bearer(token))))).code, 'jwt_invalid');
  assert.deepEqual(
    audited.map((a) => a.reason),
    cases.map(([, r]) => `jwt_invalid:${r}`),
  );
  assert.deepEqual(
    { action: audited[0]!.action, outcome: audited[0]!.outcome, resource: audited[0]!.resource },
    { action: 'auth.deny', outcome: 'deny', resource: 'route:orders' },
  );
  // Within tolerance is fine.
  assert.equal(
    await policy.onRequest!(request(bearer(await sign(key, withTenant, { expiresInS: -20 })))),
    undefined,
  );
});

test('no token: 401 jwt_missing with a bare Bearer challenge (RFC 6750 §3.1)', async () => {
  const key = await testKey('RS256');
  const { env, audited } = setup();
  const policy = jwtPolicy(
    config({ keys: [{ alg: 'RS256', pem: key.pem }], algorithms: ['RS256'], realm: 'orders' }),
    env,
  );
  for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: 'Bearer' }] as Record<
    string,
    string
  >[]) {
    assert.deepEqual(await refusal(() => policy.onRequest!(request(headers))), {
      code: 'jwt_missing',
      status: 401,
      challenge: 'Bearer realm="orders"',
    });
  }
  assert.equal(audited[0]!.reason, 'jwt_missing');
});

test('a token from a cookie, kept from the upstream with stripToken', async () => {
  const key = await testKey('EdDSA');
  const { env } = setup();
  const policy = jwtPolicy(
    config({
      keys: [{ alg: 'EdDSA', pem: key.pem }],
      algorithms: ['EdDSA'],
      token: { cookie: 'at' },
      forward: { claims: {}, stripToken: true },
    }),
    env,
  );
  const token = await sign(key);
  const ctx = request({ cookie: `theme=dark; at=${token}; lang=de` });
  assert.equal(await policy.onRequest!(ctx), undefined);
  assert.equal(ctx.upstreamHeaders.cookie, 'theme=dark; lang=de');
  assert.equal((await refusal(() => policy.onRequest!(request(bearer(token))))).code, 'jwt_missing');
});

test('keys and algorithms that cannot work are config errors at load', async () => {
  const rsa = await testKey('RS256');
  const ec = await testKey('ES256');
  const { env } = setup();
  const bad: [object, RegExp][] = [
    [{ algorithms: ['RS256'] }, /exactly one of jwks and keys/],
    [{ jwks: { url: 'https://x/jwks' }, algorithms: ['HS256'] }, /HS256 cannot be used with jwks/],
    [{ keys: [{ alg: 'RS256', pem: ec.pem }], algorithms: ['RS256'] }, /RS256 needs a rsa key, not ec/],
    [{ keys: [{ alg: 'ES384', pem: ec.pem }], algorithms: ['ES384'] }, /needs curve secp384r1/],
    [{ keys: [{ alg: 'RS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } }], algorithms: ['RS256'] }, /symmetric/],
    [{ keys: [{ alg: 'RS256', pem: 'not a pem' }], algorithms: ['RS256'] }, /not a usable public key/],
    [{ keys: [{ alg: 'RS256', pem: rsa.pem }], algorithms: ['RS256', 'PS256'] }, /no key for PS256/],
    [{ keys: [{ alg: 'RS256', pem: rsa.pem }], algorithms: ['PS256'] }, /RS256 is not in algorithms/],
    [{ keys: [{ alg: 'HS512', secret: 'x'.repeat(40) }], algorithms: ['HS512'] }, /at least 64 bytes/],
  ];
  for (const [c, message] of bad) {
    assert.throws(
      () => jwtPolicy(config(c), env),
      (err: unknown) => {
        assert.ok(isJunctionError(err));
        assert.equal(err.code, 'config_invalid');
        assert.match(err.message, /^route orders: auth\.jwt: /);
        assert.match(err.message, message);
        return true;
      },
      JSON.stringify(c),
    );
  }
});

test('the schema has defaults, refuses none, HS with a pem and tolerances over 5 minutes', () => {
  const check = Compile(jwt.schema);
  const filled = config({ jwks: { url: 'https://id/jwks' }, algorithms: ['RS256'] });
  assert.ok(check.Check(filled));
  assert.deepEqual(
    {
      jwks: filled.jwks,
      tol: filled.clockToleranceS,
      token: filled.token,
      roles: filled.rolesClaim,
      scopes: filled.scopesClaim,
    },
    {
      jwks: { url: 'https://id/jwks', cacheMaxAgeMs: 600_000, cooldownMs: 30_000, timeoutMs: 5000 },
      tol: 30,
      token: { header: 'authorization' },
      roles: 'roles',
      scopes: 'scope',
    },
  );
  const base = { keys: [{ alg: 'RS256', pem: 'x' }], algorithms: ['RS256'] };
  for (const bad of [
    { ...base, algorithms: ['none'] },
    { ...base, algorithms: [] },
    { keys: [{ alg: 'HS256', pem: 'x' }], algorithms: ['HS256'] },
    { keys: [{ alg: 'RS256', secret: 'x'.repeat(40) }], algorithms: ['RS256'] },
    { ...base, clockToleranceS: 301 },
    { keys: base.keys },
  ]) {
    assert.equal(check.Check(Value.Default(jwt.schema, bad)), false, JSON.stringify(bad));
  }
});

test('the forged-HMAC check is not vacuous: the same bytes do verify as an HS256 secret', async () => {
  // Guards the confusion tests above: the forged token is a correct HMAC over the public key bytes.
  const key = await testKey('RS256');
  const forged = await sign({ alg: 'HS256', privateKey: new TextEncoder().encode(key.pem) });
  const [h, p, s] = forged.split('.');
  assert.equal(createHmac('sha256', key.pem).update(`${h}.${p}`).digest('base64url'), s);
});
