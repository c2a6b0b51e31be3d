import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { type Abandoned, captureBody } from './capture.ts';

test('the copy is stored before the client sees the end of the body', async () => {
  const events: string[] = [];
  const body = captureBody(
    Readable.from([Buffer.from('{"id":'), Buffer.from('"pay_1"}')]),
    1024,
    async (buf) => {
      events.push(`store ${buf}`);
      await new Promise((r) => setTimeout(r, 20));
      events.push('stored');
    },
    (why) => void events.push(why),
  );
  body.on('end', () => events.push('end'));
  assert.equal(await text(body), '{"id":"pay_1"}');
  assert.deepEqual(events, ['store {"id":"pay_1"}', 'stored', 'end']);
});

test('with a declared length the last byte waits for the store: a client cannot have the whole body before the copy is kept', async () => {
  const json = '{"id":"pay_1"}';
  let stored!: () => void;
  const storing = new Promise<void>((resolve) => {
    stored = resolve;
  });
  let storeCalled = false;
  const body = captureBody(
    Readable.from([Buffer.from('{"id":'), Buffer.from('"pay_1"}')]),
    1024,
    async () => {
      storeCalled = true;
      await storing;
    },
    () => assert.fail('nothing abandoned'),
    json.length,
  );
  let got = '';
  body.on('data', (c: Buffer) => {
    got += c.toString();
  });
  const ended = new Promise((resolve) => body.once('end', resolve));
  while (!storeCalled) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  // What a Content-Length client counts: one byte short until the store is done.
  assert.equal(got, json.slice(0, -1));
  stored();
  await ended;
  assert.equal(got, json);
});

test('a declared length smaller than what the upstream sends still passes every byte, in order', async () => {
  const body = captureBody(
    Readable.from([Buffer.from('abc'), Buffer.from('def'), Buffer.from('g')]),
    1024,
    async () => {},
    () => {},
    2,
  );
  assert.equal(await text(body), 'abcdefg');
});

test('a body over maxBytes streams through whole and is abandoned as too large', async () => {
  const why: Abandoned[] = [];
  const body = captureBody(
    Readable.from([Buffer.alloc(600, 97), Buffer.alloc(600, 98)]),
    1000,
    async () => assert.fail('must not store'),
    (w) => void why.push(w),
  );
  assert.equal((await text(body)).length, 1200);
  assert.deepEqual(why, ['too-large']);
});

test('an upstream that breaks off is abandoned as incomplete, once', async () => {
  const why: Abandoned[] = [];
  const upstream = new PassThrough();
  const body = captureBody(
    upstream,
    1000,
    async () => assert.fail('must not store'),
    (w) => void why.push(w),
  );
  body.resume();
  upstream.write('partial');
  upstream.destroy(new Error('reset'));
  await new Promise((r) => body.once('close', r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(why, ['incomplete']);
});

test('a client that leaves is abandoned as incomplete', async () => {
  const why: Abandoned[] = [];
  const upstream = new PassThrough();
  const body = captureBody(
    upstream,
    1000,
    async () => assert.fail('must not store'),
    (w) => void why.push(w),
  );
  upstream.write('partial');
  body.destroy();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(why, ['incomplete']);
  assert.ok(upstream.destroyed, 'the upstream read stops too');
});
