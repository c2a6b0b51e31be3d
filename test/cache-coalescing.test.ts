/**
 * `core.cache` request coalescing (Q41): concurrent misses for one key share one upstream call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cachedGateway, cacheMetricsText, send } from './helpers/cache.ts';

test('100 concurrent requests for one cold URL make exactly one upstream request', async (t) => {
  const { up, gw } = await cachedGateway(t, (_req, res) => {
    setTimeout(
      () => send(res, 200, `the one answer ${up.seen.length}`, { 'cache-control': 'max-age=60' }),
      200,
    );
  });
  const answers = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const r = await fetch(gw.url('/cold'));
      return { status: r.status, body: await r.text() };
    }),
  );
  assert.equal(up.seen.length, 1);
  for (const a of answers) assert.deepEqual(a, { status: 200, body: 'the one answer 1' });
  const text = await cacheMetricsText(gw);
  assert.match(text, /junction_cache_coalesced_total\{route="cached"\} 99/);
});

test('coalesced requests for an uncacheable answer each go upstream once the leader is done', async (t) => {
  const { up, gw } = await cachedGateway(t, (_req, res) => {
    setTimeout(() => send(res, 200, 'private', { 'cache-control': 'no-store' }), 100);
  });
  const answers = await Promise.all(
    Array.from({ length: 10 }, async () => (await fetch(gw.url('/nostore'))).text()),
  );
  assert.deepEqual(answers, Array(10).fill('private'));
  assert.equal(up.seen.length, 10);
});
