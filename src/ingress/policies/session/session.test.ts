import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { isJunctionError } from '../../../core/errors.ts';
import type { RequestContext } from '../../../core/policy.ts';
import type { Services } from '../../../core/services.ts';
import { sessionPolicy } from './index.ts';
import { issuerOf } from './provider.ts';
import { type SessionConfig, sessionSchema } from './schema.ts';

const config = (over: Record<string, unknown> = {}): SessionConfig =>
  Value.Default(sessionSchema, {
    issuer: 'https://id.example.com',
    clientId: 'shop',
    encryptionKey: randomBytes(32).toString('base64'),
    ...over,
  }) as SessionConfig;

test('the issuer may be given as its discovery URL; plain http only on loopback', () => {
  assert.equal(
    issuerOf(config({ issuer: 'https://id.example.com/.well-known/openid-configuration' }), 'r').href,
    'https://id.example.com/',
  );
  assert.equal(
    issuerOf(config({ issuer: 'https://id.example.com/realms/shop' }), 'r').href,
    'https://id.example.com/realms/shop',
  );
  for (const issuer of ['http://127.0.0.1:9000', 'http://localhost:9000', 'http://[::1]:9000']) {
    assert.ok(issuerOf(config({ issuer }), 'r'));
  }
  assert.throws(
    () => issuerOf(config({ issuer: 'http://id.example.com' }), 'web'),
    (e) => isJunctionError(e) && e.code === 'config_invalid' && /route web: auth\.session/.test(e.message),
  );
});

test('without a provided store a request is answered 503 session_store_unavailable', async () => {
  const services = { audit: { record() {}, flush: async () => {} }, logger: console } as unknown as Services;
  const policy = sessionPolicy(config(), { routeName: 'web', services });
  const ctx = {
    path: '/orders',
    query: '',
    method: 'GET',
    headers: { cookie: `__Host-jx_session=${randomBytes(32).toString('base64url')}` },
    slots: {},
  } as unknown as RequestContext;
  await assert.rejects(
    async () => policy.onRequest!(ctx),
    (e) => isJunctionError(e) && e.code === 'session_store_unavailable' && e.status === 503,
  );
});

test('the schema refuses keys that are not 32 bytes and unknown settings', () => {
  const bad = [
    { issuer: 'https://id.example.com', clientId: 'c', encryptionKey: randomBytes(16).toString('base64') },
    {
      issuer: 'https://id.example.com',
      clientId: 'c',
      encryptionKey: randomBytes(32).toString('base64'),
      extra: 1,
    },
    { issuer: 'ftp://id.example.com', clientId: 'c', encryptionKey: randomBytes(32).toString('base64') },
  ];
  for (const b of bad) assert.equal(Value.Check(sessionSchema, Value.Default(sessionSchema, b)), false);
  assert.equal(Value.Check(sessionSchema, config()), true);
});
