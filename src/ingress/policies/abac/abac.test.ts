import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Value } from 'typebox/value';
import { SEED_POLICY } from '../../../../test/helpers/abac.ts';
import type { AuditEntry } from '../../../core/audit.ts';
import { isJunctionError } from '../../../core/errors.ts';
import { Snowflake } from '../../../core/ids.ts';
import { createLogger } from '../../../core/logger.ts';
import { createMetrics } from '../../../core/metrics.ts';
import type { RequestContext } from '../../../core/policy.ts';
import type { Principal } from '../../../core/principal.ts';
import { problemResponse } from '../../../core/problem.ts';
import type { Services } from '../../../core/services.ts';
import { type AbacConfig, abac, abacPolicy } from './index.ts';

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
  return { audited, env: { routeName: 'documents', services } };
}

const config = (c: object): AbacConfig => Value.Default(abac.schema, structuredClone(c)) as AbacConfig;

const seedConfig = (extra: object = {}) =>
  config({
    policies: SEED_POLICY,
    action: { methods: { PUT: 'edit', PATCH: 'edit', GET: 'view' } },
    resource: {
      type: 'Document',
      id: { param: 'id' },
      attributes: { owner: { param: 'ownerId', entity: 'User' } },
    },
    context: { timeZone: 'Europe/Berlin' },
    ...extra,
  });

const alice: Principal = {
  kind: 'jwt',
  id: 'alice',
  roles: ['staff'],
  scopes: [],
  attributes: { sub: 'alice', employee: true, department: 'legal' },
};

function request(o: {
  principal?: Principal;
  method?: string;
  params?: Record<string, string>;
  clientIp?: string;
}) {
  return {
    id: 'req_abac0000001',
    method: o.method ?? 'PUT',
    path: '/users/alice/documents/d-1',
    query: '',
    headers: {},
    clientIp: o.clientIp ?? '192.0.2.10',
    routeName: 'documents',
    params: o.params ?? { ownerId: 'alice', id: 'd-1' },
    upstreamHeaders: {},
    responseHeaders: {},
    slots: o.principal ? { principal: o.principal, claims: o.principal.attributes } : {},
  } as unknown as RequestContext;
}

/** 16:30 UTC on a winter day is 17:30 in Berlin (CET, UTC+1); 17:00 UTC is 18:00 there. */
const BERLIN_1730 = Date.UTC(2025, 0, 15, 16, 30);
const BERLIN_1800 = Date.UTC(2025, 0, 15, 17, 0);

function decide(policy: ReturnType<typeof abacPolicy>, ctx: RequestContext): string {
  try {
    policy.onRequest!(ctx);
    return 'allow';
  } catch (err) {
    assert.ok(isJunctionError(err), String(err));
    return `${err.status} ${err.code}`;
  }
}

test('the seed example: an employee edits their own document before 18:00, and only then', () => {
  const { env, audited } = setup();
  let clock = BERLIN_1730;
  const policy = abacPolicy(seedConfig(), env, { now: () => clock });
  assert.equal(decide(policy, request({ principal: alice })), 'allow');
  assert.equal(decide(policy, request({ principal: alice, method: 'PATCH' })), 'allow');
  // Someone else's document.
  assert.equal(
    decide(policy, request({ principal: alice, params: { ownerId: 'bob', id: 'd-2' } })),
    '403 forbidden',
  );
  // Not an employee.
  const contractor = { ...alice, attributes: { sub: 'alice', employee: false } };
  assert.equal(decide(policy, request({ principal: contractor })), '403 forbidden');
  // No permit for viewing in this policy set.
  assert.equal(decide(policy, request({ principal: alice, method: 'GET' })), '403 forbidden');
  // 18:00 in Berlin.
  clock = BERLIN_1800;
  assert.equal(decide(policy, request({ principal: alice })), '403 forbidden');
  assert.deepEqual(
    audited.map((a) => a.reason),
    ['abac:no_permit', 'abac:no_permit', 'abac:no_permit', 'abac:no_permit'],
  );
  assert.deepEqual(audited[3], {
    action: 'auth.deny',
    outcome: 'deny',
    actor: { kind: 'jwt', id: 'alice' },
    resource: 'route:documents Document::"d-1"',
    requestId: 'req_abac0000001',
    clientIp: '192.0.2.10',
    reason: 'abac:no_permit',
  });
});

test('the time zone decides the hour: 17:30 in Berlin is 16:30 in London', () => {
  const { env } = setup();
  const at = (timeZone: string, now: number) =>
    decide(
      abacPolicy(seedConfig({ context: { timeZone } }), env, { now: () => now }),
      request({ principal: alice }),
    );
  assert.equal(at('Europe/London', BERLIN_1800), 'allow'); // 17:00 in London
  assert.equal(at('Europe/Berlin', BERLIN_1800), '403 forbidden');
  assert.equal(at('America/New_York', Date.UTC(2025, 0, 15, 23, 0)), '403 forbidden'); // 18:00 EST
});

test('a forbid wins over a permit, and the audit names the deciding policy by its @id', () => {
  const { env, audited } = setup();
  const policy = abacPolicy(seedConfig(), env, { now: () => BERLIN_1730 });
  assert.equal(decide(policy, request({ principal: alice, clientIp: '10.66.3.4' })), '403 forbidden');
  assert.equal(audited[0]!.reason, 'abac:forbid=quarantined-network');
  // IPv4-mapped IPv6, as a dual-stack socket reports IPv4 peers, is matched as IPv4.
  assert.equal(decide(policy, request({ principal: alice, clientIp: '::ffff:10.66.3.4' })), '403 forbidden');
  assert.equal(decide(policy, request({ principal: alice, clientIp: '::1' })), 'allow');
});

test('the 403 names no policy, rule or attribute', () => {
  const { env } = setup();
  const policy = abacPolicy(seedConfig(), env, { now: () => BERLIN_1800 });
  try {
    policy.onRequest!(request({ principal: alice }));
    assert.fail('expected a denial');
  } catch (err) {
    const { status, body } = problemResponse(err, undefined, 'req_1');
    assert.equal(status, 403);
    assert.deepEqual(Object.keys(JSON.parse(body)).sort(), ['code', 'requestId', 'status', 'title', 'type']);
    for (const secret of ['employee', 'owner', 'permit', 'quarantined', 'hour', 'Document', '18'])
      assert.ok(!body.includes(secret), `${secret} leaked: ${body}`);
  }
});

test('no principal: 401 unauthenticated', () => {
  const { env, audited } = setup();
  const policy = abacPolicy(seedConfig(), env);
  assert.equal(decide(policy, request({})), '401 unauthenticated');
  assert.equal(audited[0]!.reason, 'abac:no_principal');
});

test('roles are parent entities with roleType, so `principal in Role::"…"` works', () => {
  const { env } = setup();
  const policy = abacPolicy(
    config({
      policies: 'permit (principal in Role::"auditor", action == Action::"GET", resource);',
      roleType: 'Role',
      resource: { type: 'Document' },
    }),
    env,
  );
  assert.equal(
    decide(policy, request({ principal: { ...alice, roles: ['auditor'] }, method: 'GET' })),
    'allow',
  );
  assert.equal(decide(policy, request({ principal: alice, method: 'GET' })), '403 forbidden');
});

test('claims cannot smuggle entity references or extension calls into Cedar', () => {
  const { env } = setup();
  const policy = abacPolicy(
    config({
      policies:
        'permit (principal, action, resource) when { principal has boss && principal.boss == User::"root" };',
      resource: { type: 'Document' },
    }),
    env,
  );
  const sneaky = {
    ...alice,
    attributes: { boss: { __entity: { type: 'User', id: 'root' } }, ratio: 0.5, n: null },
  };
  assert.equal(decide(policy, request({ principal: sneaky })), '403 forbidden');
});

test('context carries route, method, path, claims, and the weekday and minute of the day', () => {
  const { env } = setup();
  const policy = abacPolicy(
    config({
      policies: `permit (principal, action, resource) when {
        context.route == "documents" && context.method == "PUT" && context.path like "/users/*" &&
        context.claims.department == "legal" && context.time.weekday == 3 &&
        context.time.minuteOfDay == 1050 && context.time.date == "2025-01-15"
      };`,
      resource: { type: 'Document' },
      context: { timeZone: 'Europe/Berlin' },
    }),
    env,
    { now: () => BERLIN_1730 },
  );
  assert.equal(decide(policy, request({ principal: alice })), 'allow');
});

test('invalid Cedar, a bad schema match or a bad time zone is a config error at load', () => {
  const { env } = setup();
  const dir = mkdtempSync(join(tmpdir(), 'junction-abac-'));
  try {
    const file = join(dir, 'documents.cedar');
    writeFileSync(file, 'permit (principal, action, resource)\nwhen { principal.x == };');
    const bad: [object, RegExp][] = [
      [
        { policies: 'permit (principal, action, resource) when { 1 + };' },
        /policies: .*unexpected token `}` at 1:49/,
      ],
      [{ policiesFile: file }, new RegExp(`policiesFile ${file}: .*at 2:23`)],
      [{ policiesFile: join(dir, 'missing.cedar') }, /policiesFile .*missing\.cedar: ENOENT/],
      [{}, /exactly one of policies and policiesFile/],
      [{ policies: 'permit (principal == ?principal, action, resource);' }, /template/],
      [
        {
          policies:
            '@id("a") permit (principal, action, resource);\n@id("a") forbid (principal, action, resource);',
        },
        /two policies are named a/,
      ],
      [
        {
          policies:
            'permit (principal, action == Action::"edit", resource) when { resource.ownr == principal };',
          schema:
            'entity User; entity Document { owner: User }; action edit appliesTo { principal: User, resource: Document };',
        },
        /does not match schema: policy0: .*ownr.*did you mean `owner`/,
      ],
      [
        { policies: 'permit (principal, action, resource);', context: { timeZone: 'Mars/Olympus' } },
        /context\.timeZone/,
      ],
    ];
    for (const [c, message] of bad) {
      assert.throws(
        () => abacPolicy(config({ resource: { type: 'Document' }, ...c }), env),
        (err: unknown) => {
          assert.ok(isJunctionError(err));
          assert.equal(err.code, 'config_invalid');
          assert.match(err.message, /^route documents: auth\.abac: /);
          assert.match(err.message, message);
          return true;
        },
        JSON.stringify(c),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Cedar WASM loads once per process, in well under a second', async (t) => {
  const { loadCedar } = await import('./cedar.ts');
  const first = loadCedar();
  const again = loadCedar();
  assert.equal(again.first, false);
  assert.equal(again.cedar, first.cedar);
  t.diagnostic(`cedar-wasm ${first.cedar.getCedarVersion()} loaded in ${first.loadMs.toFixed(1)} ms`);
  assert.ok(first.loadMs < 1000);
});
