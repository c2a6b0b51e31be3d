import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestContext } from '../../../core/policy.ts';
import { compileKey } from './keys.ts';

function ctx(over: { headers?: Record<string, string | string[]>; slots?: object; ip?: string } = {}) {
  return {
    clientIp: over.ip ?? '203.0.113.7',
    routeName: 'orders',
    headers: over.headers ?? {},
    slots: over.slots ?? {},
  } as unknown as RequestContext;
}

test('each key part reads its own source', () => {
  const principal = { kind: 'api-key', id: 'jk_abc', roles: [], scopes: [], attributes: { plan: 'gold' } };
  const c = ctx({ headers: { 'x-tenant': 'acme' }, slots: { principal, claims: { sub: 'u1', org: 42 } } });
  const key = (k: Parameters<typeof compileKey>[0]['key']) => compileKey({ key: k, missingKey: 'skip' })(c);
  assert.equal(key('ip'), '203.0.113.7');
  assert.equal(key('principal'), 'jk_abc');
  assert.equal(key('route'), 'orders');
  assert.equal(key({ header: 'X-Tenant' }), 'acme');
  assert.equal(key({ claim: 'sub' }), 'u1');
  assert.equal(key({ claim: 'org' }), '42');
  // A claim the JWT does not carry is looked up in the principal's attributes.
  assert.equal(key({ claim: 'plan' }), 'gold');
});

test('combined parts are length-prefixed, so no two different requests share a key by accident', () => {
  const keyOf = compileKey({ key: [{ header: 'a' }, { header: 'b' }], missingKey: 'skip' });
  const one = keyOf(ctx({ headers: { a: 'x|1:y', b: 'z' } }));
  const two = keyOf(ctx({ headers: { a: 'x', b: 'y|1:z' } }));
  assert.equal(one, '5:x|1:y|1:z');
  assert.notEqual(one, two);
  assert.equal(
    compileKey({ key: ['ip', { header: 'x-tenant' }], missingKey: 'skip' })(
      ctx({ headers: { 'x-tenant': 'acme' } }),
    ),
    '11:203.0.113.7|4:acme',
  );
});

test('a missing part falls back to the client address, a shared bucket, or skips the limit', () => {
  const of = (missingKey: 'ip' | 'shared' | 'skip') => compileKey({ key: ['principal'], missingKey })(ctx());
  assert.equal(of('ip'), 'ip:203.0.113.7');
  assert.equal(of('shared'), '-');
  assert.equal(of('skip'), undefined);
  // An empty header is as good as none.
  assert.equal(
    compileKey({ key: { header: 'x-k' }, missingKey: 'shared' })(ctx({ headers: { 'x-k': '' } })),
    '-',
  );
});

test('a long key is hashed, so a 16 KiB header makes a short counter key', () => {
  const key = compileKey({ key: { header: 'x-k' }, missingKey: 'skip' })(
    ctx({ headers: { 'x-k': 'v'.repeat(16_384) } }),
  );
  assert.match(key!, /^#[A-Za-z0-9_-]{43}$/);
});
