/**
 * `core.cache` end to end (Q23): what is stored and reused (RFC 9111 §3, §4), Vary, Authorization,
 * invalidation by unsafe methods (§4.4) and bodies over the entry limit. Staleness is in
 * cache-stale.test.ts, coalescing in cache-coalescing.test.ts, Redis in cache-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cachedGateway, cacheMetricsText, gets, send, until } from './helpers/cache.ts';

test('a miss is stored and the next request is a hit: one upstream call, Age grows, Cache-Status says so', async (t) => {
  const { up, gw } = await cachedGateway(t, (_req, res) =>
    send(res, 200, 'hello', { 'cache-control': 'max-age=60' }),
  );
  const before = Date.now();
  const miss = await fetch(gw.url('/a'));
  assert.equal(await miss.text(), 'hello');
  assert.equal(miss.headers.get('x-cache'), 'MISS');
  assert.equal(miss.headers.get('cache-status'), 'junction; fwd=uri-miss; fwd-status=200; stored');

  const hit = await fetch(gw.url('/a'));
  assert.equal(hit.status, 200);
  assert.equal(await hit.text(), 'hello');
  assert.equal(hit.headers.get('x-cache'), 'HIT');
  // ttl is the whole seconds of freshness left: 60 less the entry's age. The age is at most the time
  // since the miss was sent plus up to 1 s more: the upstream's Date has whole-second resolution, so
  // a second that ticks between the upstream writing it and the gateway reading the answer makes the
  // apparent age 1 s (RFC 9111 §4.2.3). A fixed 59|60 failed then, and on a machine slow enough to
  // take a second between the two requests.
  const ttl = /^junction; hit; ttl=(\d+)$/.exec(hit.headers.get('cache-status') ?? '');
  assert.ok(ttl, String(hit.headers.get('cache-status')));
  const floor = Math.floor((60_000 - 1000 - (Date.now() - before)) / 1000);
  assert.ok(Number(ttl[1]) <= 60 && Number(ttl[1]) >= floor, `ttl=${ttl[1]}, at least ${floor}`);
  assert.equal(hit.headers.get('content-length'), '5');
  assert.equal(gets(up, '/a'), 1);

  // Age is computed from the stored time on every hit (RFC 9111 §5.1).
  const older = await until(async () => {
    const r = await fetch(gw.url('/a'));
    await r.arrayBuffer();
    return Number(r.headers.get('age')) >= 1 ? r : undefined;
  });
  assert.equal(older.headers.get('x-cache'), 'HIT');
  const head = await fetch(gw.url('/a'), { method: 'HEAD' });
  assert.equal(head.headers.get('x-cache'), 'HIT');
  assert.equal(head.headers.get('content-length'), '5');
  assert.equal(up.seen.length, 1, 'HEAD is answered from the GET entry');

  const text = await cacheMetricsText(gw);
  assert.match(text, /junction_cache_requests_total\{route="cached",result="miss"\} 1/);
  assert.match(text, /junction_cache_requests_total\{route="cached",result="hit"\} ([3-9]|\d\d+)$/m);
  assert.match(text, /junction_cache_stored_bytes [1-9]/);
});

test('no-store, private and Set-Cookie responses are not stored; the client no-cache goes upstream', async (t) => {
  const { up, gw } = await cachedGateway(t, (req, res) => {
    if (req.url === '/no-store') return send(res, 200, 'x', { 'cache-control': 'no-store, max-age=60' });
    if (req.url === '/private') return send(res, 200, 'x', { 'cache-control': 'private, max-age=60' });
    if (req.url === '/cookie')
      return send(res, 200, 'x', { 'cache-control': 'max-age=60', 'set-cookie': 'sid=1' });
    if (req.url === '/none') return send(res, 200, 'x');
    send(res, 200, `n${up.seen.length}`, { 'cache-control': 'max-age=60' });
  });
  for (const path of ['/no-store', '/private', '/cookie', '/none']) {
    for (let i = 0; i < 2; i++) {
      const r = await fetch(gw.url(path));
      assert.equal(await r.text(), 'x');
      assert.equal(r.headers.get('x-cache'), 'MISS', path);
    }
    assert.equal(gets(up, path), 2, `${path} must not be served from the cache`);
  }
  await (await fetch(gw.url('/fresh'))).text();
  const revalidate = await fetch(gw.url('/fresh'), { headers: { 'cache-control': 'no-cache' } });
  await revalidate.text();
  const bypass = await fetch(gw.url('/fresh'), { headers: { 'cache-control': 'no-store' } });
  await bypass.text();
  assert.equal(bypass.headers.get('x-cache'), 'BYPASS');
  assert.equal(gets(up, '/fresh'), 3);
});

test('Vary: Accept-Language keeps one variant per language', async (t) => {
  const { up, gw } = await cachedGateway(t, (req, res) =>
    send(res, 200, `lang=${req.headers['accept-language']}`, {
      'cache-control': 'max-age=60',
      vary: 'Accept-Language',
    }),
  );
  for (const lang of ['en', 'de', 'en', 'de', 'en']) {
    const r = await fetch(gw.url('/v'), { headers: { 'accept-language': lang } });
    assert.equal(await r.text(), `lang=${lang}`);
  }
  assert.equal(gets(up, '/v'), 2);
  const r = await fetch(gw.url('/v'), { headers: { 'accept-language': 'fr' } });
  assert.equal(await r.text(), 'lang=fr');
  assert.match(r.headers.get('cache-status') ?? '', /fwd=vary-miss/);
});

test('requests with Authorization are not served or stored unless the response says public (RFC 9111 §3.5)', async (t) => {
  const { up, gw } = await cachedGateway(t, (req, res) =>
    send(res, 200, `for ${req.headers.authorization}`, {
      'cache-control': req.url === '/public' ? 'public, max-age=60' : 'max-age=60',
    }),
  );
  for (const who of ['Bearer a', 'Bearer b']) {
    const r = await fetch(gw.url('/mine'), { headers: { authorization: who } });
    assert.equal(await r.text(), `for ${who}`);
  }
  assert.equal(gets(up, '/mine'), 2);
  // Nothing of theirs was stored: an anonymous request does not get a credentialed answer.
  assert.equal(await (await fetch(gw.url('/mine'))).text(), 'for undefined');
  assert.equal(gets(up, '/mine'), 3);
  for (const who of ['Bearer a', 'Bearer b']) {
    const r = await fetch(gw.url('/public'), { headers: { authorization: who } });
    assert.equal(await r.text(), 'for Bearer a');
  }
  assert.equal(gets(up, '/public'), 1);
  // Stored for an anonymous request, but not public: not for a request carrying credentials.
  await (await fetch(gw.url('/anon'))).text();
  const anon = await fetch(gw.url('/anon'));
  assert.equal(anon.headers.get('x-cache'), 'HIT');
  await anon.text();
  const authed = await fetch(gw.url('/anon'), { headers: { authorization: 'Bearer c' } });
  assert.equal(await authed.text(), 'for Bearer c');
  assert.equal(gets(up, '/anon'), 2);
});

test('a successful POST invalidates the GET entry for its URI and its Location', async (t) => {
  let postsFail = false;
  const { up, gw } = await cachedGateway(t, (req, res) => {
    if (req.method === 'POST' && postsFail) return send(res, 500, 'no');
    if (req.method === 'POST') return send(res, 201, 'made', { location: '/items/1' });
    send(res, 200, `${req.url} #${up.seen.length}`, { 'cache-control': 'max-age=60' });
  });
  const read = async (path: string) => {
    const r = await fetch(gw.url(path));
    return { body: await r.text(), xCache: r.headers.get('x-cache') };
  };
  assert.equal((await read('/items')).xCache, 'MISS');
  assert.equal((await read('/items')).xCache, 'HIT');
  assert.equal((await read('/items/1')).xCache, 'MISS');
  const post = await fetch(gw.url('/items'), { method: 'POST', body: '{}' });
  assert.equal(post.status, 201);
  await post.text();
  assert.equal((await read('/items')).xCache, 'MISS');
  assert.equal((await read('/items/1')).xCache, 'MISS');
  assert.equal(gets(up, '/items'), 2);
  assert.equal(gets(up, '/items/1'), 2);
  // A failed write invalidates nothing.
  postsFail = true;
  await (await fetch(gw.url('/items'), { method: 'POST', body: '{}' })).text();
  assert.equal((await read('/items')).xCache, 'HIT');
});

test('a body over maxEntryBytes streams through uncached, with or without Content-Length', async (t) => {
  const big = 'b'.repeat(10_000);
  const { up, gw } = await cachedGateway(
    t,
    (req, res) => {
      if (req.url === '/small') return send(res, 200, 'small', { 'cache-control': 'max-age=60' });
      if (req.url === '/big') return send(res, 200, big, { 'cache-control': 'max-age=60' });
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      for (let i = 0; i < 10; i++) res.write(big.slice(i * 1000, (i + 1) * 1000));
      res.end();
    },
    { maxEntryBytes: 1024 },
  );
  for (const path of ['/big', '/chunked', '/big', '/chunked', '/small', '/small']) {
    const r = await fetch(gw.url(path));
    assert.equal(await r.text(), path === '/small' ? 'small' : big);
  }
  assert.equal(gets(up, '/big'), 2);
  assert.equal(gets(up, '/chunked'), 2);
  assert.equal(gets(up, '/small'), 1);
});
