/**
 * `core.cache` end to end (Q23, Q41): RFC 9111 storage and reuse, Vary, Authorization, revalidation,
 * RFC 5861 stale-while-revalidate / stale-if-error, invalidation by unsafe methods, bodies over the
 * entry limit, and coalescing. Redis-backed sharing between two gateways is in cache-redis.test.ts.
 * Freshness windows are 1 s where staleness is wanted; waits poll with deadlines.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type TestContext, test } from 'node:test';
import { closeCacheStores } from '../src/ingress/policies/cache/index.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startUpstream, type TestUpstream } from './helpers/upstream.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function cachedGateway(
  t: TestContext,
  handler: Handler,
  cache: Record<string, unknown> = {},
): Promise<{ up: TestUpstream; gw: TestGateway }> {
  const up = await startUpstream(t, handler);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'cached',
        match: { path: '/*' },
        proxy: { upstream: 'app' },
        policies: { 'core.cache': cache },
      },
    ],
  });
  t.after(() => closeCacheStores(gw.gateway.services));
  return { up, gw };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Calls `fn` every `everyMs` until it returns a value, failing after `deadlineMs`. */
async function until<T>(fn: () => Promise<T | undefined>, deadlineMs = 6000, everyMs = 150): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The `junction_cache_*` lines of the gateway's metrics (short assertion messages). */
async function cacheMetricsText(gw: TestGateway): Promise<string> {
  const text = await gw.gateway.services.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((l) => l.startsWith('junction_cache_'))
    .join('\n');
}

const gets = (up: TestUpstream, path: string) =>
  up.seen.filter((s) => s.method === 'GET' && s.url === path).length;

test('a miss is stored and the next request is a hit: one upstream call, Age grows, Cache-Status says so', async (t) => {
  const { up, gw } = await cachedGateway(t, (_req, res) =>
    send(res, 200, 'hello', { 'cache-control': 'max-age=60' }),
  );
  const miss = await fetch(gw.url('/a'));
  assert.equal(await miss.text(), 'hello');
  assert.equal(miss.headers.get('x-cache'), 'MISS');
  assert.equal(miss.headers.get('cache-status'), 'junction; fwd=uri-miss; fwd-status=200; stored');

  const hit = await fetch(gw.url('/a'));
  assert.equal(hit.status, 200);
  assert.equal(await hit.text(), 'hello');
  assert.equal(hit.headers.get('x-cache'), 'HIT');
  assert.match(hit.headers.get('cache-status') ?? '', /^junction; hit; ttl=(59|60)$/);
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
  assert.match(
    stale.r.headers.get('cache-status') ?? '',
    /fwd=stale; fwd-status=503; ttl=-\d+; detail=stale-if-error/,
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
