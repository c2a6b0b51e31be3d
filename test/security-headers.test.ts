/**
 * `security.headers` (Q39) on proxied responses and on the gateway's own answers, upstream values
 * kept unless `override`, per-route settings, CSP nonces; and XSS payloads in paths, queries and
 * return addresses coming back escaped (or refused) from everything the gateway renders itself.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startTestGateway } from './helpers/gateway.ts';
import { api, Browser, sessionGateway } from './helpers/session.ts';
import { startUpstream } from './helpers/upstream.ts';

const DEFAULT_CSP =
  "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

/** A raw HTTP/1.1 request, so the path can hold what fetch() would percent-encode. */
function raw(
  url: string,
  target: string,
  headers: Record<string, string> = {},
): Promise<{ head: string; body: string }> {
  const { hostname, port } = new URL(url);
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
    socket.on('error', reject);
    socket.on('end', () => {
      const at = text.indexOf('\r\n\r\n');
      resolve({ head: text.slice(0, at).toLowerCase(), body: text.slice(at + 4) });
    });
  });
}

test('every answer of the route carries the headers; HSTS only where TLS is', async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'app',
        match: { path: '/app/*' },
        proxy: { upstream: 'app' },
        policies: { 'security.headers': {} },
      },
      {
        name: 'tls-in-front',
        match: { path: '/edge/*' },
        respond: { status: 204 },
        policies: { 'security.headers': { hsts: { behindTls: true } } },
      },
    ],
  });
  const res = await fetch(gw.url('/app/page'));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-security-policy'), DEFAULT_CSP);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(res.headers.get('strict-transport-security'), null, 'not over plain http');
  const edge = await fetch(gw.url('/edge/x'));
  assert.equal(edge.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
  assert.equal(edge.headers.get('x-frame-options'), 'DENY', 'on the gateway’s own answers too');
});

test("the upstream's own values win unless override is set; routes override the defaults", async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, {
      'content-security-policy': "default-src 'none'",
      'x-frame-options': 'SAMEORIGIN',
      'content-length': '2',
    });
    res.end('ok');
  });
  const gw = await startTestGateway(t, {
    defaults: { policies: { 'security.headers': {} } },
    upstreams: { app: { targets: [up.url] } },
    routes: [
      { name: 'kept', match: { path: '/kept' }, proxy: { upstream: 'app' } },
      {
        name: 'forced',
        match: { path: '/forced' },
        proxy: { upstream: 'app' },
        policies: {
          'security.headers': { override: true, referrerPolicy: 'strict-origin', frameOptions: false },
        },
      },
    ],
  });
  const kept = await fetch(gw.url('/kept'));
  assert.equal(kept.headers.get('content-security-policy'), "default-src 'none'");
  assert.equal(kept.headers.get('x-frame-options'), 'SAMEORIGIN');
  assert.equal(
    kept.headers.get('x-content-type-options'),
    'nosniff',
    'what the upstream did not set is added',
  );
  const forced = await fetch(gw.url('/forced'));
  assert.equal(forced.headers.get('content-security-policy'), DEFAULT_CSP);
  assert.equal(forced.headers.get('referrer-policy'), 'strict-origin');
  assert.equal(forced.headers.get('x-frame-options'), 'SAMEORIGIN', 'turned off here: the upstream’s stays');
  const unmatched = await fetch(gw.url('/nothing-here'));
  assert.equal(unmatched.status, 404);
});

test('a CSP nonce is fresh per response and handed to the upstream', async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'app',
        match: { path: '/*' },
        proxy: { upstream: 'app' },
        policies: {
          'security.headers': {
            contentSecurityPolicy: {
              nonce: true,
              directives: { 'default-src': ["'self'"], 'img-src': ['*'] },
            },
          },
        },
      },
    ],
  });
  const nonces = [];
  for (let i = 0; i < 2; i++) {
    const csp = (await fetch(gw.url('/'))).headers.get('content-security-policy')!;
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.equal(csp, `default-src 'self'; img-src *; script-src 'self' 'nonce-${nonce}'`);
    assert.equal(up.seen.at(-1)!.headers['x-junction-csp-nonce'], nonce);
    nonces.push(nonce);
  }
  assert.notEqual(nonces[0], nonces[1]);
});

test('script payloads in paths and queries come back escaped, with nosniff, from the gateway’s answers', async (t) => {
  const s = await sessionGateway(t, { before: { 'security.headers': {} } });
  const payload = '/<script>alert(1)</script>';
  const xml = await raw(s.gw.url(''), `${payload}?q="><img/src=x/onerror=alert(1)>`, {
    accept: 'application/xml',
  });
  assert.match(xml.head, /^http\/1\.1 401/);
  assert.match(xml.head, /content-type: application\/problem\+xml/);
  assert.match(xml.head, /x-content-type-options: nosniff/);
  assert.match(xml.head, /content-security-policy: default-src 'self'/);
  assert.ok(!xml.body.includes('<script>'), xml.body);
  assert.ok(xml.body.includes('&lt;script&gt;'), xml.body);

  const json = await raw(s.gw.url(''), payload, { accept: 'application/json' });
  assert.match(json.head, /content-type: application\/problem\+json/);
  assert.match(json.head, /x-content-type-options: nosniff/, 'never sniffed into HTML');

  const html = await raw(s.gw.url(''), `${payload}?x="'><svg>`, { accept: 'text/html' });
  assert.match(html.head, /^http\/1\.1 302/);
  const location = /\r\nlocation: ([^\r\n]*)/.exec(`\r\n${html.head}`)![1]!;
  assert.doesNotMatch(location, /[<>" ]/);
  assert.equal(
    decodeURIComponent(location.slice('/auth/login?return='.length)),
    `${payload}?x="'><svg>`.toLowerCase(),
  );

  const b = new Browser();
  const back = await s.signIn(b, `/auth/login?return=${encodeURIComponent('/"><script>alert(1)</script>')}`);
  assert.equal(back.headers.get('location'), '/%22%3E%3Cscript%3Ealert(1)%3C/script%3E');
  const refused = await api(b, s, '/auth/login?return=javascript:alert(1)');
  assert.equal(refused.status, 400);
  assert.equal(refused.headers.get('x-content-type-options'), 'nosniff');
});
