import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replayAnswer, storableHeaders } from './replay.ts';

test('stored headers keep the end-to-end fields and drop hop-by-hop, cookies, length, date, via, request id', () => {
  const stored = storableHeaders({
    'content-type': 'application/json',
    location: '/payments/pay_1',
    etag: '"v1"',
    link: ['<a>; rel="next"', '<b>; rel="prev"'],
    connection: 'keep-alive, x-hop',
    'x-hop': 'only this hop',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'content-length': '12',
    date: 'Tue, 01 Dec 2026 10:00:00 GMT',
    via: '1.1 upstream',
    'x-request-id': 'req_0',
    'set-cookie': ['session=abc'],
    'x-custom': undefined,
  });
  assert.deepEqual(stored, {
    'content-type': 'application/json',
    location: '/payments/pay_1',
    etag: '"v1"',
    link: ['<a>; rel="next"', '<b>; rel="prev"'],
  });
});

test('a replay is the stored status and body with Idempotent-Replayed; 204 and 304 have no body', () => {
  const body = Buffer.from('{"id":"pay_1"}');
  assert.deepEqual(replayAnswer({ status: 201, headers: { 'content-type': 'application/json' }, body }), {
    status: 201,
    headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' },
    body,
  });
  assert.equal(replayAnswer({ status: 204, headers: {}, body: Buffer.alloc(0) }).body, null);
  assert.deepEqual(replayAnswer({ status: 200, headers: {}, body: Buffer.alloc(0) }).body, Buffer.alloc(0));
});
