import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheStatusMember, withStatus } from './status.ts';

test('RFC 9211 members for a hit, a stored miss, a revalidation and a stale-if-error answer', () => {
  assert.equal(cacheStatusMember('junction', { result: 'hit', ttlMs: 59_400 }), 'junction; hit; ttl=59');
  assert.equal(
    cacheStatusMember('junction', { result: 'miss', fwd: 'uri-miss', fwdStatus: 200, stored: true }),
    'junction; fwd=uri-miss; fwd-status=200; stored',
  );
  assert.equal(
    cacheStatusMember('junction', { result: 'revalidated', fwd: 'stale', fwdStatus: 304, ttlMs: 60_000 }),
    'junction; fwd=stale; fwd-status=304; ttl=60',
  );
  assert.equal(
    cacheStatusMember('edge', {
      result: 'stale',
      fwd: 'stale',
      fwdStatus: 503,
      ttlMs: -2500,
      detail: 'stale-if-error',
    }),
    'edge; fwd=stale; fwd-status=503; ttl=-3; detail=stale-if-error',
  );
  assert.equal(cacheStatusMember('j', { result: 'hit', detail: 'two words' }), 'j; hit; detail="two words"');
});

test('our member is appended after an upstream cache’s; X-Cache is replaced', () => {
  const h = withStatus({ 'cache-status': 'origin-cache; hit', 'x-cache': 'HIT' }, 'both', 'junction', {
    result: 'miss',
    fwd: 'uri-miss',
  });
  assert.equal(h['cache-status'], 'origin-cache; hit, junction; fwd=uri-miss');
  assert.equal(h['x-cache'], 'MISS');
  assert.deepEqual(withStatus({ a: '1' }, 'none', 'junction', { result: 'hit' }), { a: '1' });
  assert.equal(withStatus({}, 'x-cache', 'junction', { result: 'bypass' })['cache-status'], undefined);
});
