import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { AuditRecord } from '../store/index.ts';
import { canonicalRecord, GENESIS_HASH, hashRecord, linkRecords } from './chain.ts';

const record: Omit<AuditRecord, 'hash'> = {
  seq: 1,
  id: 'aud_039SPBZ040400',
  at: 1_795_626_903_297,
  actorKind: 'admin',
  actorId: 'ops',
  action: 'config.reload',
  outcome: 'success',
  resource: 'junction.yaml',
  requestId: null,
  clientIp: '192.0.2.1',
  reason: null,
  before: '{"hash":"a"}',
  after: '{"hash":"b"}',
  prevHash: GENESIS_HASH,
};

test('the canonical form is a versioned JSON array of the fields in a fixed order', () => {
  assert.equal(
    canonicalRecord(record),
    `["junction.audit.v1",1,"aud_039SPBZ040400",1795626903297,"admin","ops","config.reload","success","junction.yaml",null,"192.0.2.1",null,"{\\"hash\\":\\"a\\"}","{\\"hash\\":\\"b\\"}","${GENESIS_HASH}"]`,
  );
  assert.equal(hashRecord(record), createHash('sha256').update(canonicalRecord(record)).digest('hex'));
});

test('the hash of a known record never changes (stored chains depend on it)', () => {
  // A different value here means existing audit logs would no longer verify: add a new version instead.
  assert.equal(hashRecord(record), 'de5982acfc10625873b8e4a28fa8e561d524210da13efa91d4a9667fbb61e957');
});

test('every field is covered: changing any one changes the hash', () => {
  const base = hashRecord(record);
  const changed: Partial<Omit<AuditRecord, 'hash'>>[] = [
    { seq: 2 },
    { id: 'aud_039SPBZ040401' },
    { at: record.at + 1 },
    { actorKind: 'api-key' },
    { actorId: 'ops2' },
    { action: 'config.load' },
    { outcome: 'failure' },
    { resource: null },
    { requestId: 'req_1' },
    { clientIp: '192.0.2.2' },
    { reason: 'x' },
    { before: null },
    { after: '{"hash":"c"}' },
    { prevHash: '1'.repeat(64) },
  ];
  for (const change of changed)
    assert.notEqual(hashRecord({ ...record, ...change }), base, JSON.stringify(change));
  // null and "null" are different values, and so are fields that swap contents.
  assert.notEqual(hashRecord({ ...record, reason: 'null' }), hashRecord({ ...record, reason: null }));
  assert.notEqual(hashRecord({ ...record, actorKind: 'ops', actorId: 'admin' }), base);
});

test('linking continues the head: seq + 1, prev_hash = the previous hash, hash over both', () => {
  const { seq: _s, prevHash: _p, ...unchained } = record;
  const second = { ...unchained, id: 'aud_039SPBZ040401' };
  const [a, b] = linkRecords({ seq: 41, hash: 'f'.repeat(64) }, [unchained, second]);
  assert.equal(a!.seq, 42);
  assert.equal(a!.prevHash, 'f'.repeat(64));
  assert.equal(b!.seq, 43);
  assert.equal(b!.prevHash, a!.hash);
  const { hash, ...rest } = b!;
  assert.equal(hash, hashRecord(rest));
});

test('linking without a head row refuses to start a new chain', () => {
  assert.throws(() => linkRecords(undefined, []), { code: 'audit_chain_broken' });
});
