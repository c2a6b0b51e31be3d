import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import type { AuditEntry } from '../../../core/audit.ts';
import { isJunctionError } from '../../../core/errors.ts';
import type { RequestContext } from '../../../core/policy.ts';
import type { Principal } from '../../../core/principal.ts';
import type { Services } from '../../../core/services.ts';
import { allows, compileRoles, type RbacConfig, rbac, rbacPolicy } from './index.ts';

function setup(allow: RbacConfig['allow'], challenge?: string) {
  const audit: AuditEntry[] = [];
  const services = {
    audit: { record: (e: AuditEntry) => audit.push(e), flush: async () => {} },
  } as unknown as Services;
  const config = Value.Default(rbac.schema, { allow, ...(challenge ? { challenge } : {}) }) as RbacConfig;
  return { audit, policy: rbacPolicy(config, { routeName: 'orders', services }) };
}

function request(method: string, principal?: Partial<Principal>): RequestContext {
  const slots = principal
    ? {
        principal: {
          kind: 'api-key',
          id: 'jk_0C8ZK3M4N5P6Q',
          roles: [],
          scopes: [],
          attributes: {},
          ...principal,
        },
      }
    : {};
  return { id: 'req_rbac000000001', method, clientIp: '192.0.2.9', slots } as unknown as RequestContext;
}

test('each role may use exactly the methods it lists; * is any method; GET brings HEAD', () => {
  const table = compileRoles({ reader: ['GET'], writer: ['GET', 'POST', 'PUT'], root: ['*'] });
  const cases: [string, string[], boolean][] = [
    ['GET', ['reader'], true],
    ['HEAD', ['reader'], true],
    ['POST', ['reader'], false],
    ['POST', ['writer'], true],
    ['DELETE', ['writer'], false],
    ['DELETE', ['root'], true],
    ['PATCH', ['reader', 'root'], true],
    ['GET', [], false],
    ['GET', ['Reader'], false],
    ['GET', ['reader '], false],
  ];
  for (const [method, roles, expected] of cases) {
    assert.equal(allows(table, method, roles), expected, `${method} ${roles}`);
  }
});

test('an allowed principal passes synchronously', () => {
  const { policy, audit } = setup({ reader: ['GET'] });
  assert.equal(policy.onRequest!(request('GET', { roles: ['other', 'reader'] })), undefined);
  assert.deepEqual(audit, []);
});

test('no principal → 401 unauthenticated with the configured challenge, audited', () => {
  const { policy, audit } = setup({ reader: ['GET'] }, 'Bearer realm="orders"');
  assert.throws(
    () => policy.onRequest!(request('GET')),
    (err: unknown) =>
      isJunctionError(err) &&
      err.code === 'unauthenticated' &&
      err.status === 401 &&
      err.headers?.['www-authenticate'] === 'Bearer realm="orders"',
  );
  assert.deepEqual(audit, [
    {
      action: 'auth.deny',
      outcome: 'deny',
      resource: 'route:orders',
      requestId: 'req_rbac000000001',
      clientIp: '192.0.2.9',
      reason: 'unauthenticated',
    },
  ]);
});

test('a principal without an allowing role → 403 forbidden naming no role or rule, audited with the actor', () => {
  const { policy, audit } = setup({ 'orders-admin': ['*'], reader: ['GET'] });
  assert.throws(
    () => policy.onRequest!(request('DELETE', { roles: ['reader'] })),
    (err: unknown) => {
      assert.ok(isJunctionError(err));
      assert.equal(err.code, 'forbidden');
      assert.equal(err.status, 403);
      assert.equal(err.headers, undefined);
      assert.doesNotMatch(err.message, /reader|orders-admin|rbac|allow/);
      return true;
    },
  );
  assert.deepEqual(audit[0]?.actor, { kind: 'api-key', id: 'jk_0C8ZK3M4N5P6Q' });
  assert.equal(audit[0]?.reason, 'forbidden:rbac_no_role');
});

test('the schema needs at least one role, role names without spaces or commas and method tokens', () => {
  const check = Compile(rbac.schema);
  assert.ok(check.Check(Value.Default(rbac.schema, { allow: { 'team:ops': ['GET', 'POST'], root: ['*'] } })));
  for (const bad of [
    {},
    { allow: {} },
    { allow: { reader: [] } },
    { allow: { reader: ['get'] } },
    { allow: { 'a,b': ['GET'] } },
    { allow: { 'with space': ['GET'] } },
    { allow: { reader: ['GET'] }, rules: [] },
    { allow: { reader: ['GET'] }, challenge: 'bad\nheader' },
  ]) {
    assert.equal(check.Check(Value.Default(rbac.schema, bad)), false, JSON.stringify(bad));
  }
});
