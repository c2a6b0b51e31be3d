import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import type { AuditEntry } from '../../../core/audit.ts';
import { isJunctionError } from '../../../core/errors.ts';
import { Snowflake } from '../../../core/ids.ts';
import { createLogger } from '../../../core/logger.ts';
import { createMetrics } from '../../../core/metrics.ts';
import type { Policy, RequestContext } from '../../../core/policy.ts';
import type { Services } from '../../../core/services.ts';
import type { ApiKey } from '../../../store/index.ts';
import {
  type ApiKeyConfig,
  type ApiKeySource,
  apiKey,
  apiKeyPolicy,
  issueApiKey,
  provideApiKeys,
} from './index.ts';

const T0 = 1_800_000_000_000;

/** An in-memory key store that counts its queries. */
class MemoryKeys implements ApiKeySource {
  readonly rows = new Map<string, ApiKey>();
  lookups = 0;
  touches: [string, number][] = [];
  fail = false;
  async create(key: Omit<ApiKey, 'revokedAt' | 'lastUsedAt'>): Promise<ApiKey> {
    const stored = { ...key, revokedAt: null, lastUsedAt: null } as ApiKey;
    this.rows.set(stored.prefix, stored);
    return stored;
  }
  async findByPrefix(prefix: string): Promise<ApiKey | undefined> {
    this.lookups++;
    if (this.fail) throw new Error('database is down');
    const row = this.rows.get(prefix);
    return row && { ...row };
  }
  async touch(id: string, at: number): Promise<boolean> {
    this.touches.push([id, at]);
    return true;
  }
  revoke(id: string, at: number): void {
    for (const row of this.rows.values()) if (row.id === id) row.revokedAt = at;
  }
}

function setup(overrides: Partial<ApiKeyConfig> = {}, provide = true) {
  const audit: AuditEntry[] = [];
  const services: Services = {
    logger: createLogger({ level: 'silent' }),
    accessLogger: createLogger({ level: 'silent' }),
    metrics: createMetrics({ defaultMetrics: false }),
    ids: new Snowflake({ nodeId: 1 }),
    spans: undefined,
    redisUrl: undefined,
    audit: { record: (e) => audit.push(e), flush: async () => {} },
  } as Services;
  const keys = new MemoryKeys();
  if (provide) provideApiKeys(services, keys);
  const clock = { now: T0 };
  const config = Value.Default(apiKey.schema, structuredClone(overrides)) as ApiKeyConfig;
  const policy = apiKeyPolicy(config, { routeName: 'orders', services }, { now: () => clock.now });
  const issue = (input: Partial<Parameters<typeof issueApiKey>[2]> = {}) =>
    issueApiKey(keys, services.ids, { name: 'ci', scopes: ['orders:read'], roles: ['reader'], ...input }, T0);
  return { services, keys, audit, clock, policy, issue };
}

function request(headers: Record<string, string> = {}, method = 'GET'): RequestContext {
  return {
    id: 'req_apikey0000001',
    method,
    headers,
    clientIp: '192.0.2.7',
    upstreamHeaders: {},
    responseHeaders: {},
    slots: {},
  } as unknown as RequestContext;
}

/** Runs onRequest; resolves to undefined (admitted) or the JunctionError it answered with. */
async function run(policy: Policy, ctx: RequestContext) {
  try {
    return await policy.onRequest!(ctx);
  } catch (err) {
    assert.ok(isJunctionError(err), String(err));
    return err;
  }
}

test('a valid key sets the principal, forwards trusted headers and never forwards itself', async () => {
  const { policy, issue } = setup();
  const { key, secret } = await issue({ roles: ['reader', 'writer'], tenant: 'acme' });
  const ctx = request({ 'x-api-key': secret });
  assert.equal(await run(policy, ctx), undefined);
  assert.deepEqual(ctx.slots.principal, {
    kind: 'api-key',
    id: key.id,
    roles: ['reader', 'writer'],
    scopes: ['orders:read'],
    tenant: 'acme',
    attributes: { name: 'ci' },
  });
  assert.deepEqual(ctx.upstreamHeaders, {
    'x-api-key': '', // empty: removed from the upstream request
    'x-junction-principal': key.id,
    'x-junction-roles': 'reader,writer',
    'x-junction-scopes': 'orders:read',
    'x-junction-tenant': 'acme',
  });
});

test('a cached key is decided synchronously; the first lookup of a prefix is asynchronous', async () => {
  const { policy, keys, issue } = setup();
  const { secret } = await issue();
  const first = policy.onRequest!(request({ 'x-api-key': secret }));
  assert.ok(first instanceof Promise);
  assert.equal(await first, undefined);
  assert.equal(policy.onRequest!(request({ 'x-api-key': secret })), undefined);
  assert.equal(keys.lookups, 1);
});

test('Authorization: Bearer jk_… is a key too, and is not forwarded; other bearer tokens are not ours', async () => {
  const { policy, issue } = setup();
  const { key, secret } = await issue();
  const ctx = request({ authorization: `Bearer ${secret}` });
  assert.equal(await run(policy, ctx), undefined);
  assert.equal(ctx.slots.principal?.id, key.id);
  assert.equal(ctx.upstreamHeaders.authorization, '');
  const jwt = await run(policy, request({ authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig' }));
  assert.equal(isJunctionError(jwt) && jwt.code, 'api_key_missing');
  const off = setup({ bearer: false });
  const refused = await run(off.policy, request({ authorization: `Bearer ${(await off.issue()).secret}` }));
  assert.ok(isJunctionError(refused));
  assert.equal(refused.code, 'api_key_missing');
  assert.equal(refused.headers?.['www-authenticate'], 'ApiKey realm="junction", header="x-api-key"');
});

test('no key → 401 api_key_missing with a Bearer challenge, recorded in the audit log', async () => {
  const { policy, audit } = setup();
  const err = await run(policy, request());
  assert.ok(isJunctionError(err));
  assert.equal(err.code, 'api_key_missing');
  assert.equal(err.status, 401);
  assert.equal(err.headers?.['www-authenticate'], 'Bearer realm="junction"');
  assert.deepEqual(audit, [
    {
      action: 'auth.deny',
      outcome: 'deny',
      resource: 'route:orders',
      requestId: 'req_apikey0000001',
      clientIp: '192.0.2.7',
      reason: 'api_key_missing',
    },
  ]);
});

test('unknown, wrong, revoked, expired and malformed keys get one identical answer; the audit log says which', async () => {
  const { policy, audit, keys, issue, clock } = setup();
  const good = await issue();
  const revoked = await issue();
  keys.revoke(revoked.key.id, T0 - 1);
  const expired = await issue({ expiresAt: T0 + 1_000 });
  clock.now = T0 + 1_000;
  const wrong = `${good.secret.slice(0, -4)}AAAA`;
  const unknown = `jk_zzzzzzzzzzzz_${'A'.repeat(43)}`;
  const answers = [];
  for (const secret of [unknown, wrong, revoked.secret, expired.secret, 'jk_short', "x' OR '1'='1"]) {
    const err = await run(policy, request({ 'x-api-key': secret }));
    assert.ok(isJunctionError(err), secret);
    answers.push([err.code, err.status, err.message, err.headers?.['www-authenticate']]);
  }
  assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1, 'no answer differs');
  assert.deepEqual(answers[0], [
    'api_key_invalid',
    401,
    'the API key is not valid',
    'Bearer realm="junction", error="invalid_token"',
  ]);
  assert.deepEqual(
    audit.map((e) => [e.reason, e.actor?.id]),
    [
      ['api_key_invalid:unknown', undefined],
      ['api_key_invalid:mismatch', undefined],
      ['api_key_invalid:revoked', revoked.key.id],
      ['api_key_invalid:expired', expired.key.id],
      ['api_key_invalid:malformed', undefined],
      ['api_key_invalid:malformed', undefined],
    ],
  );
  assert.equal(keys.lookups, 4, 'malformed keys never reach the store');
});

test('a key without every required scope → 403 api_key_scope with an insufficient_scope challenge', async () => {
  const { policy, audit, issue } = setup({ scopes: ['orders:read', 'orders:write'] });
  const { key, secret } = await issue({ scopes: ['orders:read'] });
  const ctx = request({ 'x-api-key': secret });
  const err = await run(policy, ctx);
  assert.ok(isJunctionError(err));
  assert.equal(err.code, 'api_key_scope');
  assert.equal(err.status, 403);
  assert.equal(
    err.headers?.['www-authenticate'],
    'Bearer realm="junction", error="insufficient_scope", scope="orders:read orders:write"',
  );
  assert.equal(ctx.slots.principal, undefined);
  assert.deepEqual(audit.at(-1)?.actor, { kind: 'api-key', id: key.id });
  assert.equal(audit.at(-1)?.reason, 'api_key_scope:orders:write');
  const both = await issue({ scopes: ['orders:write', 'orders:read', 'extra'] });
  assert.equal(await run(policy, request({ 'x-api-key': both.secret })), undefined);
});

test('a revoked key is still accepted from the cache until cacheTtlMs passes, then refused', async () => {
  const { policy, keys, clock, issue } = setup({ cacheTtlMs: 2_000 });
  const { key, secret } = await issue();
  assert.equal(await run(policy, request({ 'x-api-key': secret })), undefined);
  keys.revoke(key.id, clock.now);
  clock.now += 2_000;
  assert.equal(await run(policy, request({ 'x-api-key': secret })), undefined, 'within the TTL');
  clock.now += 1;
  const err = await run(policy, request({ 'x-api-key': secret }));
  assert.equal(isJunctionError(err) && err.code, 'api_key_invalid');
});

test('cacheTtlMs 0 asks the store on every request', async () => {
  const { policy, keys, issue } = setup({ cacheTtlMs: 0 });
  const { secret } = await issue();
  for (let i = 0; i < 3; i++) assert.equal(await run(policy, request({ 'x-api-key': secret })), undefined);
  assert.equal(keys.lookups, 3);
});

test('concurrent requests with one key share one lookup, and made-up keys are remembered as unknown', async () => {
  const { policy, keys, issue } = setup();
  const { secret } = await issue();
  const results = await Promise.all(
    Array.from({ length: 20 }, () => run(policy, request({ 'x-api-key': secret }))),
  );
  assert.ok(results.every((r) => r === undefined));
  assert.equal(keys.lookups, 1);
  const madeUp = `jk_zzzzzzzzzzzz_${'B'.repeat(43)}`;
  for (let i = 0; i < 5; i++) await run(policy, request({ 'x-api-key': madeUp }));
  assert.equal(keys.lookups, 2);
});

test('a failing store → 503 api_key_unavailable, not cached: the next request asks again', async () => {
  const { policy, keys, audit, issue } = setup();
  const { secret } = await issue();
  keys.fail = true;
  const err = await run(policy, request({ 'x-api-key': secret }));
  assert.ok(isJunctionError(err));
  assert.equal(err.code, 'api_key_unavailable');
  assert.equal(err.status, 503);
  assert.equal(audit.at(-1)?.reason, 'api_key_unavailable');
  keys.fail = false;
  assert.equal(await run(policy, request({ 'x-api-key': secret })), undefined);
});

test('without a key source (never provided) keys are unavailable, not accepted', async () => {
  const { policy } = setup({}, false);
  const err = await run(policy, request({ 'x-api-key': `jk_zzzzzzzzzzzz_${'C'.repeat(43)}` }));
  assert.equal(isJunctionError(err) && err.code, 'api_key_unavailable');
});

test('required: false lets keyless requests through but still refuses a bad key', async () => {
  const { policy } = setup({ required: false });
  const ctx = request();
  assert.equal(await run(policy, ctx), undefined);
  assert.equal(ctx.slots.principal, undefined);
  const err = await run(policy, request({ 'x-api-key': 'nope' }));
  assert.equal(isJunctionError(err) && err.code, 'api_key_invalid');
});

test('last use is recorded at most once a minute per key', async () => {
  const { policy, keys, clock, issue } = setup({ cacheTtlMs: 300_000 });
  const { key, secret } = await issue();
  for (const step of [0, 10_000, 49_999, 1, 30_000]) {
    clock.now += step;
    await run(policy, request({ 'x-api-key': secret }));
  }
  assert.deepEqual(keys.touches, [
    [key.id, T0],
    [key.id, T0 + 60_000],
  ]);
});

test('the schema fills defaults and refuses forward headers outside x-junction-*', () => {
  const check = Compile(apiKey.schema);
  assert.deepEqual(Value.Default(apiKey.schema, {}), {
    header: 'x-api-key',
    bearer: true,
    required: true,
    scopes: [],
    cacheTtlMs: 5_000,
    realm: 'junction',
    forwardHeaders: {
      id: 'x-junction-principal',
      roles: 'x-junction-roles',
      tenant: 'x-junction-tenant',
      scopes: 'x-junction-scopes',
    },
  });
  for (const bad of [
    { forwardHeaders: { id: 'x-user-id' } },
    { forwardHeaders: { roles: 'authorization' } },
    { scopes: ['two words'] },
    { cacheTtlMs: -1 },
    { realm: 'a"b' },
    { header: 'bad header' },
    { extra: true },
  ]) {
    assert.equal(check.Check(Value.Default(apiKey.schema, bad)), false, JSON.stringify(bad));
  }
});
