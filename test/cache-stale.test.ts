/**
 * `core.cache` and stale entries: revalidation with validators (RFC 9111 §4.3), stale-while-
 * revalidate and stale-if-error (RFC 5861). Freshness windows are 1 s; waits poll with deadlines.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { cachedGateway, send, until } from './helpers/cache.ts';

test('a stale entry with an ETag is revalidated: the upstream gets If-None-Match, answers 304, the client gets 200 with the body', async (t) => {
  const { up, gw } = await cachedGateway(t, (req, res) => {
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60' });
      return res.end();
    }
    send(res, 200, 'body v1', { etag: '"v1"', 'cache-control': 'max-age=1' });
  });
  await (await fetch(gw.url('/r'))).text();
  const revalidated = await until(async () => {
    const r = await fetch(gw.url('/r'));
    const body = await r.text();
    return r.headers.get('x-cache') === 'REVALIDATED' ? { r, body } : undefined;
  });
  assert.equal(revalidated.r.status, 200);
  assert.equal(revalidated.body, 'body v1');
  assert.match(revalidated.r.headers.get('cache-status') ?? '', /fwd=stale; fwd-status=304/);
  assert.equal(up.seen.length, 2, JSON.stringify(up.seen.map((s) => s.headers)));
  assert.equal(up.seen[1]!.headers['if-none-match'], '"v1"');
  const after = await fetch(gw.url('/r'));
  assert.equal(await after.text(), 'body v1');
  assert.equal(after.headers.get('x-cache'), 'HIT', 'the 304 made the entry fresh for 60 s');
  // A client holding the same ETag gets 304 from the cache itself. (fetch adds `Cache-Control:
  // no-cache` to conditional requests unless the request has its own Cache-Control.)
  const cond = await fetch(gw.url('/r'), {
    headers: { 'if-none-match': 'W/"v1"', 'cache-control': 'max-age=3600' },
  });
  assert.equal(cond.status, 304);
  assert.equal(cond.headers.get('x-cache'), 'HIT');
  assert.equal(up.seen.length, 2);
});

test('stale-while-revalidate answers stale at once and refreshes once in the background', async (t) => {
  const held: ServerResponse[] = [];
  let version = 0;
  const { up, gw } = await cachedGateway(t, (_req, res) => {
    version++;
    if (version === 1)
      return send(res, 200, 'v1', { 'cache-control': 'max-age=1, stale-while-revalidate=30' });
    held.push(res); // the refresh waits until the test lets it go
  });
  // A stale answer must not wait for the held refresh: a fetch that does times out and fails.
  const quick = () => fetch(gw.url('/swr'), { signal: AbortSignal.timeout(3000) });
  await (await quick()).text();
  await until(async () => {
    const r = await quick();
    const body = await r.text();
    return r.headers.get('x-cache') === 'STALE' ? assert.equal(body, 'v1') === undefined : undefined;
  });
  // The refresh is held at the upstream, yet stale answers keep coming without waiting for it.
  for (let i = 0; i < 3; i++) {
    const r = await quick();
    assert.equal(await r.text(), 'v1');
    assert.equal(r.headers.get('x-cache'), 'STALE');
    assert.match(
      r.headers.get('cache-status') ?? '',
      /^junction; hit; ttl=-\d+; detail=stale-while-revalidate$/,
    );
  }
  await until(async () => (held.length === 1 ? true : undefined));
  assert.equal(up.seen.length, 2, 'exactly one background refresh');
  assert.equal(up.seen[1]!.headers['x-junction-cache-refresh'], undefined, 'the refresh token stays inside');
  send(held[0]!, 200, 'v2', { 'cache-control': 'max-age=60' });
  await until(async () => {
    const r = await quick();
    return (await r.text()) === 'v2' && r.headers.get('x-cache') === 'HIT' ? true : undefined;
  });
  assert.equal(up.seen.length, 2);
});

test('stale-if-error answers stale when the upstream answers 503, but not past must-revalidate', async (t) => {
  let calls = 0;
  const { gw } = await cachedGateway(t, (req, res) => {
    calls++;
    const cc =
      req.url === '/strict'
        ? 'max-age=1, stale-if-error=60, must-revalidate'
        : 'max-age=1, stale-if-error=60';
    if (calls <= 2) return send(res, 200, 'good', { 'cache-control': cc });
    send(res, 503, 'down');
  });
  await (await fetch(gw.url('/sie'))).text();
  await (await fetch(gw.url('/strict'))).text();
  const stale = await until(async () => {
    const r = await fetch(gw.url('/sie'));
    const body = await r.text();
    return r.headers.get('x-cache') === 'STALE' ? { r, body } : undefined;
  });
  assert.equal(stale.r.status, 200);
  assert.equal(stale.body, 'good');
  // The first stale answer may come the very millisecond freshness ran out: ttl is then 0 (whole
  // seconds left, rounded down; RFC 9211), not yet negative.
  assert.match(
    stale.r.headers.get('cache-status') ?? '',
    /fwd=stale; fwd-status=503; ttl=(?:0|-\d+); detail=stale-if-error/,
  );
  const strict = await fetch(gw.url('/strict'));
  assert.equal(strict.status, 503);
  assert.equal(await strict.text(), 'down');
});

test('stale-if-error also covers an upstream that does not answer at all', async (t) => {
  const { up, gw } = await cachedGateway(t, (_req, res) =>
    send(res, 200, 'kept', { 'cache-control': 'max-age=1, stale-if-error=60' }),
  );
  await (await fetch(gw.url('/gone'))).text();
  await new Promise<void>((resolve) => {
    up.server.closeAllConnections();
    up.server.close(() => resolve());
  });
  const r = await until(async () => {
    const res = await fetch(gw.url('/gone'));
    const body = await res.text();
    return res.headers.get('x-cache') === 'STALE' ? { res, body } : undefined;
  });
  assert.equal(r.res.status, 200);
  assert.equal(r.body, 'kept');
});
