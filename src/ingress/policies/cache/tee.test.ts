import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { teeForStore } from './tee.ts';

test('the client gets every byte while a copy is kept for the store', async () => {
  let stored: Buffer | undefined | null = null;
  const body = teeForStore(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10, (b) => {
    stored = b;
  });
  assert.equal(await text(body), 'abcd');
  assert.equal(String(stored), 'abcd');
});

test('past maxBytes the copy is dropped but the stream goes on', async () => {
  let stored: Buffer | undefined | null = null;
  const body = teeForStore(Readable.from([Buffer.alloc(6, 'x'), Buffer.alloc(6, 'y')]), 10, (b) => {
    stored = b;
  });
  assert.equal(await text(body), 'xxxxxxyyyyyy');
  assert.equal(stored, undefined);
});

test('an upstream error stores nothing', async () => {
  let stored: Buffer | undefined | null = null;
  const failing = new Readable({
    read() {
      this.push(Buffer.from('partial'));
      this.destroy(new Error('reset'));
    },
  });
  const body = teeForStore(failing, 100, (b) => {
    stored = b;
  });
  await assert.rejects(text(body));
  assert.equal(stored, undefined);
});
