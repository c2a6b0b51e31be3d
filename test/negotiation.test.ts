/**
 * Content negotiation end to end (Q29): the gateway's own problem documents in JSON or XML, and the
 * `core.negotiate` policy that converts an upstream's JSON to XML for clients that prefer it.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ERROR_DOCS_BASE } from '../src/core/problem.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { REFUSED_ORIGIN, startUpstream } from './helpers/upstream.ts';

const DATA = {
  id: 7,
  name: 'Mug <b>"best"</b> & co',
  tags: ['kitchen', 'merch'],
  '1st': 'first',
  'a b': 'spaced',
  '</doc><admin>': 'x',
  price: { amount: 1250, currency: 'USD' },
  empty: null,
};
const DATA_TEXT = JSON.stringify(DATA);
const MAX_BYTES = 2048;
/** Bytes that are neither JSON nor valid UTF-8. */
const NOT_UTF8 = Buffer.from([0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x00, 0x7d]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  isArray: (name) => name === 'item' || name === 'entry',
});

async function setup(t: TestContext) {
  const up = await startUpstream(t, (req, res) => {
    const send = (
      status: number,
      type: string,
      body: string | Buffer,
      extra: Record<string, string> = {},
    ) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
      res.end(body);
    };
    switch (req.url) {
      case '/data':
        return send(200, 'application/json', DATA_TEXT, { etag: '"v1"', vary: 'origin' });
      case '/big':
        return send(200, 'application/json', JSON.stringify({ blob: 'x'.repeat(MAX_BYTES * 4) }));
      case '/text':
        return send(200, 'text/plain; charset=utf-8', 'plain <text> & more');
      case '/not-json':
        return send(200, 'application/json', '{"truncated": ');
      case '/gzip':
        return send(200, 'application/json', gzipSync(DATA_TEXT), {
          'content-encoding': 'gzip',
          etag: '"g1"',
        });
      case '/bomb':
        // Small on the wire, far over maxBytes once inflated.
        return send(200, 'application/json', gzipSync(JSON.stringify({ blob: 'x'.repeat(MAX_BYTES * 50) })), {
          'content-encoding': 'gzip',
        });
      case '/binary':
        return send(200, 'application/json', NOT_UTF8);
      case '/problem':
        return send(422, 'application/problem+json', JSON.stringify({ title: 'Bad thing', status: 422 }));
      default:
        return send(404, 'application/json', '{"error":"not found"}');
    }
  });
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] }, gone: { targets: [REFUSED_ORIGIN] } },
    routes: [
      {
        name: 'negotiated',
        match: { path: '/neg/*' },
        proxy: { upstream: 'app', stripPrefix: '/neg' },
        policies: { 'core.negotiate': { root: 'doc', maxBytes: MAX_BYTES } },
      },
      { name: 'plain', match: { path: '/plain/*' }, proxy: { upstream: 'app', stripPrefix: '/plain' } },
      { name: 'down', match: { path: '/down' }, proxy: { upstream: 'gone' } },
    ],
  });
  return { up, gw };
}

test('gateway problems are application/problem+json by default, with the RFC 9457 members and ours', async (t) => {
  const { gw } = await setup(t);
  for (const accept of [undefined, '*/*', 'application/json', 'application/problem+json']) {
    const res = await fetch(gw.url('/nowhere?q=1'), { headers: accept ? { accept } : {} });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const body = (await res.json()) as Record<string, unknown>;
    const id = res.headers.get('x-request-id');
    assert.match(id ?? '', /^req_/);
    assert.deepEqual(body, {
      type: `${ERROR_DOCS_BASE}route_not_found`,
      title: 'No route matches the request',
      status: 404,
      code: 'route_not_found',
      detail: 'no route for GET /nowhere',
      instance: '/nowhere',
      requestId: id,
    });
  }
});

test('Accept: application/xml gets application/problem+xml in the RFC 7807 namespace', async (t) => {
  const { gw } = await setup(t);
  for (const accept of [
    'application/xml',
    'text/xml',
    'application/problem+xml',
    'application/json;q=0.5, application/xml',
  ]) {
    const res = await fetch(gw.url('/down'), { headers: { accept } });
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('content-type'), 'application/problem+xml; charset=utf-8', accept);
    const text = await res.text();
    assert.match(text, /^<\?xml version="1\.0" encoding="UTF-8"\?><problem xmlns="urn:ietf:rfc:7807">/);
    assert.equal(XMLValidator.validate(text), true);
    const problem = parser.parse(text).problem as Record<string, string>;
    assert.equal(problem.code, 'upstream_unreachable');
    assert.equal(problem.status, '502');
    assert.equal(problem.type, `${ERROR_DOCS_BASE}upstream_unreachable`);
    assert.equal(problem.requestId, res.headers.get('x-request-id'));
    assert.equal(problem.instance, '/down');
    assert.equal(problem.upstream, 'gone');
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text));
  }
});

test('an error answer is never replaced by a 406: text/csv still gets the JSON problem', async (t) => {
  const { gw } = await setup(t);
  for (const path of ['/down', '/nowhere']) {
    const res = await fetch(gw.url(path), { headers: { accept: 'text/csv' } });
    assert.equal(res.status, path === '/down' ? 502 : 404);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const body = (await res.json()) as { code: string };
    assert.equal(body.code, path === '/down' ? 'upstream_unreachable' : 'route_not_found');
  }
});

test('core.negotiate converts upstream JSON to XML for a client that prefers XML', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url('/neg/data'), {
    headers: { accept: 'application/json;q=0.5, application/xml' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/xml; charset=utf-8');
  assert.equal(res.headers.get('vary'), 'origin, accept');
  assert.equal(res.headers.get('etag'), null, 'the JSON validator must not describe the XML');
  const text = await res.text();
  assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text));
  assert.equal(XMLValidator.validate(text), true);
  assert.doesNotMatch(text, /<admin>|<b>/);
  const doc = parser.parse(text).doc as Record<string, unknown>;
  assert.equal(doc.id, '7');
  assert.equal(doc.name, 'Mug <b>"best"</b> & co');
  assert.deepEqual(doc.tags, { item: ['kitchen', 'merch'] });
  assert.deepEqual(doc.price, { amount: '1250', currency: 'USD' });
  assert.deepEqual(doc.entry, [
    { '#text': 'first', '@_key': '1st' },
    { '#text': 'spaced', '@_key': 'a b' },
    { '#text': 'x', '@_key': '</doc><admin>' },
  ]);
});

test('core.negotiate passes JSON through byte for byte to JSON clients, adding Vary: accept', async (t) => {
  const { gw } = await setup(t);
  for (const accept of [undefined, 'application/json', '*/*', 'application/*']) {
    const res = await fetch(gw.url('/neg/data'), { headers: accept ? { accept } : {} });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('vary'), 'origin, accept');
    assert.equal(res.headers.get('etag'), '"v1"');
    assert.equal(await res.text(), DATA_TEXT);
  }
});

test('core.negotiate answers 406 not_acceptable to a client that takes neither, without calling the upstream', async (t) => {
  const { up, gw } = await setup(t);
  const before = up.seen.length;
  const res = await fetch(gw.url('/neg/data'), { headers: { accept: 'text/csv' } });
  assert.equal(res.status, 406);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = (await res.json()) as { code: string; available: string[] };
  assert.equal(body.code, 'not_acceptable');
  assert.deepEqual(body.available, ['application/json', 'application/xml']);
  assert.equal(up.seen.length, before);
});

test('an upstream JSON body over maxBytes is a 502 response_too_large instead of a conversion', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url('/neg/big'), { headers: { accept: 'application/xml' } });
  assert.equal(res.status, 502);
  assert.equal(res.headers.get('content-type'), 'application/problem+xml; charset=utf-8');
  const problem = parser.parse(await res.text()).problem as Record<string, string>;
  assert.equal(problem.code, 'response_too_large');
  // The same body goes to a JSON client untouched: the limit is about buffering for conversion.
  const json = await fetch(gw.url('/neg/big'));
  assert.equal(json.status, 200);
  assert.equal((await json.text()).length, JSON.stringify({ blob: 'x'.repeat(MAX_BYTES * 4) }).length);
});

test('non-JSON upstream content, and JSON that does not parse, pass through unchanged', async (t) => {
  const { gw } = await setup(t);
  const text = await fetch(gw.url('/neg/text'), { headers: { accept: 'application/xml' } });
  assert.equal(text.status, 200);
  assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(text.headers.get('vary'), null);
  assert.equal(await text.text(), 'plain <text> & more');

  const broken = await fetch(gw.url('/neg/not-json'), { headers: { accept: 'application/xml' } });
  assert.equal(broken.status, 200);
  assert.equal(broken.headers.get('content-type'), 'application/json');
  assert.equal(broken.headers.get('vary'), 'accept');
  assert.equal(await broken.text(), '{"truncated": ');
});

test('a body labelled JSON that is not UTF-8 is relayed byte for byte, not re-encoded', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url('/neg/binary'), { headers: { accept: 'application/xml' } });
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), NOT_UTF8);
});

test('gzip-coded upstream JSON is decoded and converted; the XML goes out uncoded', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url('/neg/gzip'), { headers: { accept: 'application/xml' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/xml; charset=utf-8');
  assert.equal(res.headers.get('content-encoding'), null);
  assert.equal(res.headers.get('etag'), null);
  const doc = parser.parse(await res.text()).doc as Record<string, unknown>;
  assert.equal(doc.name, DATA.name);
  // JSON clients get the coded body as the upstream sent it (fetch decodes it).
  const json = await fetch(gw.url('/neg/gzip'));
  assert.equal(json.headers.get('content-encoding'), 'gzip');
  assert.equal(json.headers.get('etag'), '"g1"');
  assert.equal(await json.text(), DATA_TEXT);
});

test('a gzip body that inflates past maxBytes is a 502 response_too_large', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url('/neg/bomb'), { headers: { accept: 'application/xml' } });
  assert.equal(res.status, 502);
  assert.equal(parser.parse(await res.text()).problem.code, 'response_too_large');
});

test('HEAD for an XML client carries the fields a GET would: XML type, Vary, no JSON length or ETag', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url('/neg/data'), { method: 'HEAD', headers: { accept: 'application/xml' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/xml; charset=utf-8');
  assert.equal(res.headers.get('vary'), 'origin, accept');
  assert.equal(res.headers.get('etag'), null);
  assert.notEqual(res.headers.get('content-length'), String(Buffer.byteLength(DATA_TEXT)));
  const json = await fetch(gw.url('/neg/data'), { method: 'HEAD' });
  assert.equal(json.headers.get('content-type'), 'application/json');
  assert.equal(json.headers.get('content-length'), String(Buffer.byteLength(DATA_TEXT)));
});

test('a +json upstream problem is converted too, keeping its status', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url('/neg/problem'), { headers: { accept: 'application/xml' } });
  assert.equal(res.status, 422);
  assert.equal(res.headers.get('content-type'), 'application/xml; charset=utf-8');
  assert.deepEqual(parser.parse(await res.text()).doc, { title: 'Bad thing', status: '422' });
});

test('a route without core.negotiate relays JSON as is, whatever the client accepts', async (t) => {
  const { gw } = await setup(t);
  const res = await fetch(gw.url('/plain/data'), { headers: { accept: 'application/xml' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.headers.get('vary'), 'origin');
  assert.equal(await res.text(), DATA_TEXT);
});
