import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEntry } from '../core/audit.ts';
import { AUDIT_LIMITS, normalizeEntry } from './normalize.ts';

const ID = 'aud_039SPBZ040400';
const normalize = (entry: AuditEntry) => {
  const out = normalizeEntry(entry, ID, 1);
  if ('invalid' in out) assert.fail(out.invalid);
  return out.record;
};

test('an entry becomes a row: actor split, absent fields null, before/after as JSON text', () => {
  assert.deepEqual(
    normalize({
      action: 'admin.key.create',
      outcome: 'success',
      actor: { kind: 'admin', id: 'ops' },
      resource: 'jk_1',
      requestId: 'req_1',
      clientIp: '192.0.2.1',
      after: { name: 'ci', roles: ['deploy'] },
    }),
    {
      id: ID,
      at: 1,
      actorKind: 'admin',
      actorId: 'ops',
      action: 'admin.key.create',
      outcome: 'success',
      resource: 'jk_1',
      requestId: 'req_1',
      clientIp: '192.0.2.1',
      reason: null,
      before: null,
      after: '{"name":"ci","roles":["deploy"]}',
    },
  );
});

test('object keys are sorted at every depth, so one state has one text; a __proto__ key stays a key', () => {
  const a = normalize({ action: 'x', outcome: 'allow', after: { b: 1, a: { d: [{ z: 1, y: 2 }], c: 2 } } });
  assert.equal(a.after, '{"a":{"c":2,"d":[{"y":2,"z":1}]},"b":1}');
  const proto = normalize({
    action: 'x',
    outcome: 'allow',
    after: JSON.parse('{"__proto__":{"p":1},"a":0}'),
  });
  assert.equal(proto.after, '{"__proto__":{"p":1},"a":0}');
});

test('the snapshot is taken at record time: later mutation does not change it', () => {
  const state = { roles: ['a'] };
  const row = normalize({ action: 'x', outcome: 'success', before: state });
  state.roles.push('b');
  assert.equal(row.before, '{"roles":["a"]}');
});

test('text is made storable as hashed: lone surrogates and NUL replaced, lengths bounded', () => {
  const row = normalize({
    action: 'x',
    outcome: 'deny',
    reason: 'a\u0000b\ud800c',
    resource: 'r'.repeat(5000),
    after: { s: 'q\u0000\udc00' },
  });
  assert.equal(row.reason, 'a\uFFFDb\uFFFDc');
  assert.equal(row.resource!.length, AUDIT_LIMITS.resource);
  // JSON.stringify escapes both, so the JSON text is plain ASCII here.
  assert.equal(row.after, '{"s":"q\\u0000\\udc00"}');
  const cut = normalize({ action: 'x', outcome: 'deny', reason: `${'r'.repeat(AUDIT_LIMITS.reason - 1)}😀` });
  assert.equal(cut.reason!.at(-1), '\uFFFD', 'a pair cut in half does not leave a lone surrogate');
});

test('values JSON cannot hold are recorded as such, never thrown; oversized ones as their size', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match(
    normalize({ action: 'x', outcome: 'success', after: cyclic }).after!,
    /^\{"\$unserializable":/,
  );
  assert.match(normalize({ action: 'x', outcome: 'success', after: { n: 1n } }).after!, /BigInt/);
  assert.equal(normalize({ action: 'x', outcome: 'success', after: () => 1 }).after, null);
  const big = normalize({ action: 'x', outcome: 'success', after: 'x'.repeat(AUDIT_LIMITS.json) });
  assert.deepEqual(JSON.parse(big.after!), { $truncated: true, length: AUDIT_LIMITS.json + 2 });
});

test('an entry without an action or with an unknown outcome is refused', () => {
  // biome-ignore lint/suspicious/noExplicitAny: callers outside TypeScript's reach.
  const bad = (e: any) => normalizeEntry(e, ID, 1);
  assert.ok('invalid' in bad({ action: '', outcome: 'allow' }));
  assert.ok('invalid' in bad({ outcome: 'allow' }));
  assert.ok('invalid' in bad({ action: 'x', outcome: 'maybe' }));
  assert.ok('invalid' in bad(null));
});
