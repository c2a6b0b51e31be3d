/**
 * API versioning end to end (Q6): one resource in two shapes, reached by path prefix, header and
 * media type; the deprecated version announces itself with RFC 9745 / RFC 8594 / RFC 8288 headers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestGateway } from './helpers/gateway.ts';
import { REFUSED_ORIGIN, startUpstream } from './helpers/upstream.ts';

const DOCS = 'https://docs.example.com/versioning';

/** The products service of the demo in miniature: v1 `{ name, price }`, v2 `{ title, price: { amount } }`. */
async function startProducts(t: Parameters<typeof startUpstream>[0]) {
  return startUpstream(t, (req, res) => {
    const m = /^\/(v[12])\/products\/([^/?]+)(?:\?|$)/.exec(req.url ?? '');
    const body = !m
      ? { error: 'not found', url: req.url }
      : m[1] === 'v1'
        ? { id: m[2], name: 'Mug', price: 12.5 }
        : { id: m[2], title: 'Mug', price: { amount: 1250, currency: 'USD' } };
    const text = JSON.stringify(body);
    res.writeHead(m ? 200 : 404, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  });
}

/** A port nothing listens on: bind, read the port, close. */

async function startVersioned(t: Parameters<typeof startUpstream>[0]) {
  const up = await startProducts(t);
  const gw = await startTestGateway(t, {
    upstreams: {
      products: { targets: [up.url] },
      gone: { targets: [REFUSED_ORIGIN], timeouts: { connectMs: 2000 } },
    },
    apis: {
      commerce: {
        mediaType: 'vnd.commerce',
        header: 'Api-Version',
        default: '2',
        versions: {
          '1': {
            deprecation: '2026-06-01T00:00:00Z',
            sunset: '2027-06-30T00:00:00Z',
            successor: '2',
            link: DOCS,
          },
          '2': {},
        },
      },
    },
    routes: [
      {
        name: 'products-v1',
        match: { path: '/products/*', methods: ['GET', 'HEAD'], version: { api: 'commerce', is: '1' } },
        proxy: { upstream: 'products', addPrefix: '/v1' },
      },
      {
        name: 'products-v2',
        match: { path: '/products/*', methods: ['GET', 'HEAD'], version: { api: 'commerce', is: '2' } },
        proxy: { upstream: 'products', addPrefix: '/v2' },
      },
      {
        name: 'reviews-v1',
        match: { path: '/reviews/:id', version: { api: 'commerce', is: '1' } },
        proxy: { upstream: 'gone' },
      },
    ],
  });
  return { up, gw };
}

test('each version is reached by path prefix, header, media type and default, with its own shape', async (t) => {
  const { up, gw } = await startVersioned(t);
  const cases: { path: string; headers?: Record<string, string>; upstream: string; v: 1 | 2 }[] = [
    { path: '/v1/products/mug?x=1', upstream: '/v1/products/mug?x=1', v: 1 },
    { path: '/v2/products/mug', upstream: '/v2/products/mug', v: 2 },
    { path: '/products/mug', headers: { 'api-version': '1' }, upstream: '/v1/products/mug', v: 1 },
    {
      path: '/products/mug',
      headers: { accept: 'application/vnd.commerce.v1+json' },
      upstream: '/v1/products/mug',
      v: 1,
    },
    { path: '/products/mug', upstream: '/v2/products/mug', v: 2 },
    // The path wins over a header that names another version.
    { path: '/v1/products/mug', headers: { 'api-version': '2' }, upstream: '/v1/products/mug', v: 1 },
  ];
  for (const c of cases) {
    const before = up.seen.length;
    const res = await fetch(gw.url(c.path), { headers: c.headers });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, `${c.path} ${JSON.stringify(c.headers)}`);
    // The `/v<n>` prefix is stripped before addPrefix, so the upstream never sees `/v1/v1/…`.
    assert.equal(up.seen[before]?.url, c.upstream, `${c.path} ${JSON.stringify(c.headers)}`);
    if (c.v === 1) assert.deepEqual(body, { id: 'mug', name: 'Mug', price: 12.5 });
    else assert.deepEqual(body, { id: 'mug', title: 'Mug', price: { amount: 1250, currency: 'USD' } });
  }
});

test('a deprecated version answers with Deprecation, Sunset and Link headers', async (t) => {
  const { gw } = await startVersioned(t);
  for (const [path, headers] of [
    ['/v1/products/mug', {}],
    ['/products/mug', { 'api-version': '1' }],
    ['/products/mug', { accept: 'application/vnd.commerce.v1+json' }],
  ] as const) {
    const res = await fetch(gw.url(path), { headers });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    // RFC 9745 §2: a Structured Field Date, `@` + Unix seconds (2026-06-01T00:00:00Z).
    assert.equal(res.headers.get('deprecation'), '@1780272000');
    // RFC 8594 §3: an HTTP-date (IMF-fixdate).
    assert.equal(res.headers.get('sunset'), 'Wed, 30 Jun 2027 00:00:00 GMT');
    const links = (res.headers.get('link') ?? '').split(/,\s*(?=<)/);
    assert.deepEqual(links, [
      '</v2/products/mug>; rel="successor-version"',
      `<${DOCS}>; rel="deprecation"; type="text/html"`,
    ]);
  }
});

test('the current version carries no deprecation headers', async (t) => {
  const { gw } = await startVersioned(t);
  for (const [path, headers] of [
    ['/v2/products/mug', {}],
    ['/products/mug', {}],
    ['/products/mug', { 'api-version': '2' }],
  ] as const) {
    const res = await fetch(gw.url(path), { headers });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('deprecation'), null);
    assert.equal(res.headers.get('sunset'), null);
    assert.equal(res.headers.get('link'), null);
  }
});

test('error answers from a deprecated route carry the deprecation headers too', async (t) => {
  const { gw } = await startVersioned(t);
  const res = await fetch(gw.url('/v1/reviews/42'));
  const problem = (await res.json()) as { code: string };
  assert.equal(res.status, 502);
  assert.equal(problem.code, 'upstream_unreachable');
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.headers.get('deprecation'), '@1780272000');
  assert.equal(res.headers.get('sunset'), 'Wed, 30 Jun 2027 00:00:00 GMT');
  assert.match(
    res.headers.get('link') ?? '',
    /^<\/v2\/reviews\/42>; rel="successor-version", <[^>]+>; rel="deprecation"/,
  );

  // An upstream 404 passes through and still says the version is deprecated.
  const missing = await fetch(gw.url('/v1/products/mug/nope'));
  await missing.arrayBuffer();
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('deprecation'), '@1780272000');
});

test('a version the API does not have is a 400 problem listing the versions', async (t) => {
  const { gw } = await startVersioned(t);
  const res = await fetch(gw.url('/products/mug'), { headers: { 'api-version': '7' } });
  const problem = (await res.json()) as { code: string; versions: string[] };
  assert.equal(res.status, 400);
  assert.equal(problem.code, 'api_version_unknown');
  assert.deepEqual(problem.versions, ['1', '2']);
  assert.equal(res.headers.get('deprecation'), null);
});

test('an upstream Link header survives next to the deprecation links', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { link: '</v1/products?page=2>; rel="next"', 'content-length': '2' });
    res.end('{}');
  });
  const gw = await startTestGateway(t, {
    upstreams: { products: { targets: [up.url] } },
    apis: {
      commerce: { versions: { '1': { deprecation: '2026-06-01T00:00:00Z', successor: '2' }, '2': {} } },
    },
    routes: [
      {
        name: 'products-v1',
        match: { path: '/products', version: { api: 'commerce', is: '1' } },
        proxy: { upstream: 'products', addPrefix: '/v1' },
      },
    ],
  });
  const res = await fetch(gw.url('/v1/products'));
  await res.arrayBuffer();
  const link = res.headers.get('link') ?? '';
  assert.match(link, /rel="successor-version"/);
  assert.match(link, /rel="next"/);
});
