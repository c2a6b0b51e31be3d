import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CacheEntry, entrySize } from './entry.ts';
import { MemoryStore } from './store-memory.ts';

function entry(bytes: number, vary: string[] = []): CacheEntry {
  return { status: 200, headers: {}, body: Buffer.alloc(bytes), storedAt: Date.now(), initialAgeMs: 0, vary };
}

async function put(store: MemoryStore, uri: string, key: string, bytes: number, vary: string[] = []) {
  await store.put({ uri, primary: uri, key, entry: entry(bytes, vary), ttlMs: 60_000 });
}

test('the LRU keeps within its byte budget, evicting the least recently used', async () => {
  const store = new MemoryStore({ maxBytes: 10_000 });
  await put(store, 'http://a/1', 'http://a/1', 3000);
  await put(store, 'http://a/2', 'http://a/2', 3000);
  await put(store, 'http://a/3', 'http://a/3', 3000);
  await store.get('http://a/1'); // now /2 is the least recently used
  await put(store, 'http://a/4', 'http://a/4', 3000);
  assert.ok(store.storedBytes() <= 10_000);
  assert.equal(store.size, 3);
  assert.equal(await store.get('http://a/2'), undefined);
  assert.ok(await store.get('http://a/1'));
  assert.ok(await store.get('http://a/4'));
  // An evicted entry leaves no Vary record behind.
  assert.equal(await store.varyOf('http://a/2'), undefined);
});

test('sizes count headers as well as the body', () => {
  const e = entry(100);
  const bare = entrySize(e);
  e.headers = { 'content-type': 'text/plain', link: ['<a>; rel=next', '<b>; rel=prev'] };
  assert.ok(entrySize(e) > bare + 40);
});

test('an entry larger than the whole budget is refused and not indexed', async () => {
  const store = new MemoryStore({ maxBytes: 2000 });
  await put(store, 'http://a/big', 'http://a/big', 5000);
  assert.equal(store.size, 0);
  assert.equal(await store.varyOf('http://a/big'), undefined);
  assert.equal(store.storedBytes(), 0);
});

test('entries expire after their own ttl', async () => {
  const store = new MemoryStore({ maxBytes: 10_000 });
  // 500 ms, not a few: the read right after the write must fall inside the ttl even when a loaded
  // machine stalls this process between the two lines.
  await store.put({ uri: 'u', primary: 'u', key: 'u', entry: entry(10), ttlMs: 500 });
  assert.ok(await store.get('u'));
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await store.get('u'), undefined);
});

test('invalidating a URI drops every variant and the Vary record', async () => {
  const store = new MemoryStore({ maxBytes: 100_000 });
  await put(store, 'http://a/doc', 'http://a/doc|en', 10, ['accept-language']);
  await put(store, 'http://a/doc', 'http://a/doc|de', 10, ['accept-language']);
  await put(store, 'http://a/other', 'http://a/other', 10);
  assert.deepEqual(await store.varyOf('http://a/doc'), ['accept-language']);
  assert.equal(await store.invalidate('http://a/doc'), 2);
  assert.equal(await store.get('http://a/doc|en'), undefined);
  assert.equal(await store.get('http://a/doc|de'), undefined);
  assert.equal(await store.varyOf('http://a/doc'), undefined);
  assert.ok(await store.get('http://a/other'));
  assert.equal(await store.invalidate('http://a/doc'), 0);
});
