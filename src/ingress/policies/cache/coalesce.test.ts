import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Coalescer } from './coalesce.ts';
import { MemoryStore } from './store-memory.ts';

test('the first join leads, later joins wait until the lead is released', async () => {
  const c = new Coalescer(new MemoryStore({ maxBytes: 1024 }));
  const first = c.join('k', 1000);
  const second = c.join('k', 1000);
  assert.ok('lead' in first);
  assert.ok('wait' in second);
  let woke = false;
  const waiting = second.wait.then(() => {
    woke = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(woke, false);
  first.lead.release();
  first.lead.release(); // idempotent
  await waiting;
  assert.equal(woke, true);
  assert.ok('lead' in c.join('k', 1000), 'after release the next miss leads again');
  assert.ok('lead' in c.join('other', 1000), 'keys are independent');
});

test('a follower stops waiting after the timeout', async () => {
  const c = new Coalescer(new MemoryStore({ maxBytes: 1024 }));
  c.join('k', 1000);
  const joined = c.join('k', 1000);
  assert.ok('wait' in joined);
  const started = Date.now();
  await Coalescer.follow(joined.wait, 30);
  assert.ok(Date.now() - started >= 25);
});

test('a lead whose entry has already landed does not go upstream (double-checked)', async () => {
  const c = new Coalescer(new MemoryStore({ maxBytes: 1024 }));
  const j = c.join('k', 1000);
  assert.ok('lead' in j);
  assert.equal(await c.claim('k', j.lead, 100, async () => true), false);
  assert.equal(await c.claim('k', j.lead, 100, async () => false), true);
});

test('a lead held past maxHoldMs is taken over and its followers woken', async () => {
  const c = new Coalescer(new MemoryStore({ maxBytes: 1024 }));
  const stuck = c.join('k', 1000);
  assert.ok('lead' in stuck);
  const follower = c.join('k', 1000);
  assert.ok('wait' in follower);
  await new Promise((r) => setTimeout(r, 30));
  const next = c.join('k', 10);
  assert.ok('lead' in next, 'the stuck lead no longer blocks the key');
  await follower.wait; // woken, not left to time out
  stuck.lead.release(); // a late release does not disturb the new lead
  assert.ok('wait' in c.join('k', 1000));
});
