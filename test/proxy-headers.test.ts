/**
 * What the reverse proxy changes, and must not change, in the messages it relays: hop-by-hop fields
 * (RFC 9110 §7.6.1), Via (§7.6.3), forwarding headers (RFC 7239 and X-Forwarded-*), the request id,
 * Host, repeated fields, the target path and the bodies.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { type IncomingMessage, request } from 'node:http';
import { connect } from 'node:net';
import { type TestContext, test } from 'node:test';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { echo, startCannedUpstream, startUpstream, type TestUpstream } from './helpers/upstream.ts';

interface RawResponse {
  status: number;
  /** Header lines as sent, names lowercased, in order. */
  headers: [string, string][];
  body: Buffer;
}

function portOf(gw: TestGateway): number {
  return Number(new URL(gw.url()).port);
}

/** Sends bytes exactly as given on a fresh socket and reads the answer until the server closes. */
function rawExchange(port: number, payload: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(payload);
  });
}

function parseResponse(data: Buffer): RawResponse {
  const end = data.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete response head in ${JSON.stringify(data.toString('latin1'))}`);
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine!.split(' ')[1]);
  const headers = lines.map((l): [string, string] => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()];
  });
  let body = data.subarray(end + 4);
  if (headers.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v))) body = dechunk(body);
  return { status, headers, body };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (size === 0) return Buffer.concat(out);
    out.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

function values(r: RawResponse, name: string): string[] {
  return r.headers.filter(([n]) => n === name).map(([, v]) => v);
}

function proxyConfig(upstreamUrl: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    upstreams: { app: { targets: [upstreamUrl] } },
    routes: [{ name: 'app', match: { path: '/*' }, proxy: { upstream: 'app' } }],
    ...extra,
  };
}

async function gatewayWithEcho(
  t: TestContext,
  extra: Record<string, unknown> = {},
): Promise<{ gw: TestGateway; up: TestUpstream }> {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, proxyConfig(up.url, extra));
  return { gw, up };
}

test('hop-by-hop request fields, and those the client’s Connection names, do not reach the upstream', {
  timeout: 30_000,
}, async (t) => {
  let body = '';
  const up = await startUpstream(t, (req, res) => {
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => echo(req, res));
  });
  const gw = await startTestGateway(t, proxyConfig(up.url));
  const res = await rawExchange(
    portOf(gw),
    [
      'POST /hop HTTP/1.1',
      'Host: client.example',
      'Connection: close, x-custom',
      'Keep-Alive: timeout=99, max=7',
      'TE: trailers',
      'Trailer: x-checksum',
      'Upgrade: h2c',
      'Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==',
      'Proxy-Connection: keep-alive',
      'X-Custom: only-for-the-next-hop',
      'X-Kept: end-to-end',
      'Transfer-Encoding: chunked',
      '',
      '5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc\r\n\r\n',
    ].join('\r\n'),
  );
  assert.equal(res.status, 200);
  assert.equal(up.seen.length, 1);
  const seen = up.seen[0]!.headers;
  assert.equal(seen['x-kept'], 'end-to-end');
  for (const name of ['keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection']) {
    assert.equal(seen[name], undefined, `${name} must not be forwarded`);
  }
  assert.equal(seen['x-custom'], undefined, 'a field named in Connection is hop-by-hop');
  // The upstream connection has its own Connection field (undici's), never the client's tokens.
  assert.doesNotMatch(String(seen.connection ?? ''), /x-custom|close/i);
  // The body is re-framed for the next hop: one transfer coding, chosen by the proxy, and the
  // client's trailer fields are not carried over.
  const te = up.seen[0]!.rawHeaders.filter(
    (_, i, a) => i % 2 === 0 && a[i]!.toLowerCase() === 'transfer-encoding',
  );
  assert.ok(te.length <= 1, 'at most one Transfer-Encoding field');
  assert.equal(body, 'hello world');
});

test('a request offering an upgrade other than WebSocket is served as plain HTTP/1.1', {
  timeout: 30_000,
}, async (t) => {
  const { gw, up } = await gatewayWithEcho(t);
  // What `curl --http2 http://…` sends; a server may ignore Upgrade (RFC 9110 §7.8).
  const res = await rawExchange(
    portOf(gw),
    'GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\n' +
      'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
  );
  assert.equal(res.status, 200);
  assert.equal(up.seen.length, 1);
  assert.equal(up.seen[0]!.headers.upgrade, undefined);
  assert.equal(up.seen[0]!.headers['http2-settings'], undefined);
});

test('Expect: 100-continue is answered on the client hop and the body still reaches the upstream', {
  timeout: 30_000,
}, async (t) => {
  // Regression: the field was forwarded and undici refuses it (UND_ERR_NOT_SUPPORTED), so every
  // upload from a client that waits for 100 Continue (curl does above 1 MB) failed with a 502.
  const up = await hashingUpstream(t);
  const gw = await startTestGateway(t, proxyConfig(up.url));
  const payload = randomBytes(64 * 1024);
  let continued = false;
  const { res, body } = await post(
    gw.url('/upload'),
    { expect: '100-continue', 'content-length': String(payload.length) },
    (req) =>
      req.on('continue', () => {
        continued = true;
        req.end(payload);
      }),
  );
  assert.equal(res.statusCode, 200, body);
  assert.ok(continued, 'the client was told to go on');
  const got = JSON.parse(body) as { sha256: string; length: number };
  assert.equal(got.sha256, createHash('sha256').update(payload).digest('hex'));
  assert.equal(up.seen[0]!.headers.expect, undefined);
});

test('hop-by-hop response fields, and those the upstream’s Connection names, do not reach the client', {
  timeout: 30_000,
}, async (t) => {
  const upstreamUrl = await startCannedUpstream(
    t,
    [
      'HTTP/1.1 200 OK',
      'Connection: keep-alive, x-secret',
      'Keep-Alive: timeout=77, max=9',
      'X-Secret: internal-token',
      'Proxy-Authenticate: Basic realm="upstream"',
      'Trailer: x-checksum',
      'Via: 1.1 upstream-cache',
      'X-Public: yes',
      'Content-Type: text/plain',
      'Transfer-Encoding: chunked',
      '',
      '5\r\nhello\r\n0\r\nx-checksum: abc\r\n\r\n',
    ].join('\r\n'),
  );
  const gw = await startTestGateway(t, proxyConfig(upstreamUrl));
  const res = await rawExchange(portOf(gw), 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'hello');
  assert.deepEqual(values(res, 'x-public'), ['yes']);
  assert.deepEqual(values(res, 'x-secret'), [], 'a field named in the upstream’s Connection is hop-by-hop');
  assert.deepEqual(values(res, 'proxy-authenticate'), []);
  assert.deepEqual(values(res, 'trailer'), []);
  // The gateway's own connection management may add Connection/Keep-Alive; never the upstream's.
  assert.ok(values(res, 'keep-alive').every((v) => !v.includes('timeout=77')));
  assert.ok(values(res, 'connection').every((v) => !/x-secret/i.test(v)));
  assert.ok(values(res, 'transfer-encoding').length <= 1);
  assert.deepEqual(values(res, 'via'), ['1.1 upstream-cache, 1.1 junction']);
});

test('adds Via to the request, appending to the one the client sent', { timeout: 30_000 }, async (t) => {
  const { gw, up } = await gatewayWithEcho(t);
  const plain = await fetch(gw.url('/a'));
  assert.equal(plain.status, 200);
  assert.equal(up.seen[0]!.headers.via, '1.1 junction');
  assert.equal(plain.headers.get('via'), '1.1 junction', 'the response gets our hop too');
  const chained = await fetch(gw.url('/b'), { headers: { via: '1.0 fred, 1.1 p.example.net' } });
  assert.equal(chained.status, 200);
  assert.equal(up.seen[1]!.headers.via, '1.0 fred, 1.1 p.example.net, 1.1 junction');
});

test('sets X-Forwarded-For, -Proto and -Host by default', { timeout: 30_000 }, async (t) => {
  const { gw, up } = await gatewayWithEcho(t);
  const res = await fetch(gw.url('/a'));
  assert.equal(res.status, 200);
  const seen = up.seen[0]!.headers;
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], new URL(gw.url()).host);
  assert.equal(seen.forwarded, undefined);
});

test('replaces X-Forwarded-* and Forwarded spoofed by an untrusted client', {
  timeout: 30_000,
}, async (t) => {
  const { gw, up } = await gatewayWithEcho(t);
  const res = await fetch(gw.url('/a'), {
    headers: {
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'admin.internal',
      forwarded: 'for=203.0.113.7',
    },
  });
  assert.equal(res.status, 200);
  const seen = up.seen[0]!.headers;
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], new URL(gw.url()).host);
  assert.equal(seen.forwarded, undefined);
  await waitFor(() => accessLine(gw, res));
  assert.equal(accessLine(gw, res)?.clientIp, '127.0.0.1', 'the spoofed address is not the client');
});

test('appends to X-Forwarded-For from a trusted proxy and logs the original client', {
  timeout: 30_000,
}, async (t) => {
  const { gw, up } = await gatewayWithEcho(t, { forwarding: { trustedProxies: ['127.0.0.1'] } });
  const res = await fetch(gw.url('/a'), {
    headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
  });
  assert.equal(res.status, 200);
  const seen = up.seen[0]!.headers;
  assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'https', 'a trusted proxy’s scheme is kept');
  await waitFor(() => accessLine(gw, res));
  assert.equal(accessLine(gw, res)?.clientIp, '203.0.113.7');
});

test('headers: forwarded sends an RFC 7239 Forwarded field and no X-Forwarded-*', {
  timeout: 30_000,
}, async (t) => {
  const { gw, up } = await gatewayWithEcho(t, { forwarding: { headers: 'forwarded' } });
  const res = await fetch(gw.url('/a'), { headers: { 'x-forwarded-for': '203.0.113.7' } });
  assert.equal(res.status, 200);
  const seen = up.seen[0]!.headers;
  // RFC 7239 §4: host:port is not a token, so it is a quoted-string.
  assert.equal(seen.forwarded, `for=127.0.0.1;proto=http;host="${new URL(gw.url()).host}"`);
  for (const name of ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']) {
    assert.equal(seen[name], undefined, name);
  }
});

test('headers: both sends Forwarded and X-Forwarded-*', { timeout: 30_000 }, async (t) => {
  const { gw, up } = await gatewayWithEcho(t, { forwarding: { headers: 'both' } });
  const res = await fetch(gw.url('/a'));
  assert.equal(res.status, 200);
  const seen = up.seen[0]!.headers;
  assert.match(String(seen.forwarded), /^for=127\.0\.0\.1;proto=http;host=/);
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], new URL(gw.url()).host);
});

test('the request id sent upstream is the one returned to the client', { timeout: 30_000 }, async (t) => {
  const { gw, up } = await gatewayWithEcho(t);
  const res = await fetch(gw.url('/a'));
  assert.equal(res.status, 200);
  const id = res.headers.get('x-request-id');
  assert.match(id ?? '', /^req_/);
  assert.equal(up.seen[0]!.headers['x-request-id'], id);
});

test('the upstream sees its own host:port in Host, not the client’s', { timeout: 30_000 }, async (t) => {
  const { gw, up } = await gatewayWithEcho(t);
  const res = await rawExchange(
    portOf(gw),
    'GET /a HTTP/1.1\r\nHost: public.example.com\r\nConnection: close\r\n\r\n',
  );
  assert.equal(res.status, 200);
  assert.equal(up.seen[0]!.headers.host, `127.0.0.1:${up.port}`);
  assert.equal(up.seen[0]!.headers['x-forwarded-host'], 'public.example.com');
});

test('proxy.preserveHost sends the client’s Host upstream', { timeout: 30_000 }, async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [{ name: 'app', match: { path: '/*' }, proxy: { upstream: 'app', preserveHost: true } }],
  });
  const res = await rawExchange(
    portOf(gw),
    'GET /a HTTP/1.1\r\nHost: public.example.com\r\nConnection: close\r\n\r\n',
  );
  assert.equal(res.status, 200);
  assert.equal(up.seen[0]!.headers.host, 'public.example.com');
  assert.equal(up.seen[0]!.rawHeaders.filter((h) => h.toLowerCase() === 'host').length, 1, 'one Host');
});

test('every value of a repeated request field reaches the upstream', { timeout: 30_000 }, async (t) => {
  const { gw, up } = await gatewayWithEcho(t);
  const res = await rawExchange(
    portOf(gw),
    'GET /a HTTP/1.1\r\nHost: a\r\nX-Multi: one\r\nX-Multi: two\r\nConnection: close\r\n\r\n',
  );
  assert.equal(res.status, 200);
  const raw = up.seen[0]!.rawHeaders;
  const multi = raw.filter((_, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'x-multi');
  // One combined line or two separate ones are equivalent (RFC 9110 §5.3); dropping one is not.
  assert.deepEqual(multi.join(', '), 'one, two');
});

test('every Set-Cookie of the response reaches the client, none merged', { timeout: 30_000 }, async (t) => {
  const cookies = [
    'a=1; Path=/; HttpOnly',
    'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT',
    'c=3; SameSite=Strict; Secure',
  ];
  const up = await startUpstream(t, (_req, res) => {
    res.setHeader('set-cookie', cookies);
    res.end('ok');
  });
  const gw = await startTestGateway(t, proxyConfig(up.url));
  const res = await fetch(gw.url('/a'));
  assert.equal(res.status, 200);
  assert.deepEqual(res.headers.getSetCookie(), cookies);
});

test('keeps the query string and percent-encoding of the target byte for byte', {
  timeout: 30_000,
}, async (t) => {
  const { gw, up } = await gatewayWithEcho(t);
  const target = '/files/a%2Fb/%E2%82%AC?q=a+b&empty=&x=%26%3D&x=2';
  const res = await rawExchange(portOf(gw), `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  assert.equal(res.status, 200);
  assert.equal(up.seen[0]!.url, target);
});

test('stripPrefix and addPrefix rewrite the upstream path', { timeout: 30_000 }, async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'api',
        match: { path: '/api/*' },
        proxy: { upstream: 'app', stripPrefix: '/api', addPrefix: '/internal/v2' },
      },
      { name: 'strip', match: { path: '/s/*' }, proxy: { upstream: 'app', stripPrefix: '/s' } },
      { name: 'add', match: { path: '/users' }, proxy: { upstream: 'app', addPrefix: '/svc/' } },
    ],
  });
  const cases: [string, string][] = [
    ['/api/users/7?expand=1', '/internal/v2/users/7?expand=1'],
    ['/api/', '/internal/v2/'],
    ['/s/deep/path', '/deep/path'],
    ['/s/', '/'],
    ['/users?page=2', '/svc/users?page=2'],
  ];
  for (const [from, to] of cases) {
    const res = await fetch(gw.url(from));
    assert.equal(res.status, 200, from);
    assert.equal(((await res.json()) as { url: string }).url, to, from);
  }
});

/** Upstream that answers with the sha256 and length of the body it received. */
function hashingUpstream(t: TestContext): Promise<TestUpstream> {
  return startUpstream(t, (req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      length += c.length;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          sha256: hash.digest('hex'),
          length,
          te: req.headers['transfer-encoding'] ?? null,
          cl: req.headers['content-length'] ?? null,
        }),
      );
    });
  });
}

function post(
  url: string,
  headers: Record<string, string>,
  write: (req: ReturnType<typeof request>) => void,
): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ res, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    write(req);
  });
}

test('a body with Content-Length arrives intact', { timeout: 30_000 }, async (t) => {
  const up = await hashingUpstream(t);
  const gw = await startTestGateway(t, proxyConfig(up.url));
  const payload = randomBytes(3 * 1024 * 1024 + 17);
  const { res, body } = await post(
    gw.url('/upload'),
    { 'content-length': String(payload.length), 'content-type': 'application/octet-stream' },
    (req) => req.end(payload),
  );
  assert.equal(res.statusCode, 200);
  const got = JSON.parse(body) as { sha256: string; length: number; cl: string | null };
  assert.equal(got.length, payload.length);
  assert.equal(got.cl, String(payload.length), 'a known length is passed on');
  assert.equal(got.sha256, createHash('sha256').update(payload).digest('hex'));
});

test('a chunked body arrives intact', { timeout: 30_000 }, async (t) => {
  const up = await hashingUpstream(t);
  const gw = await startTestGateway(t, proxyConfig(up.url));
  const parts = Array.from({ length: 48 }, (_, i) => randomBytes(64 * 1024 + i));
  const expected = createHash('sha256');
  for (const p of parts) expected.update(p);
  const { res, body } = await post(gw.url('/upload'), { 'transfer-encoding': 'chunked' }, (req) => {
    let i = 0;
    const next = () => {
      while (i < parts.length) {
        if (!req.write(parts[i++])) {
          req.once('drain', next);
          return;
        }
      }
      req.end();
    };
    next();
  });
  assert.equal(res.statusCode, 200);
  const got = JSON.parse(body) as { sha256: string; length: number };
  assert.equal(
    got.length,
    parts.reduce((n, p) => n + p.length, 0),
  );
  assert.equal(got.sha256, expected.digest('hex'));
});

function accessLine(gw: TestGateway, res: Response): Record<string, unknown> | undefined {
  const id = res.headers.get('x-request-id');
  return gw.logs().find((l) => l.msg === 'request' && l.requestId === id);
}

async function waitFor(check: () => unknown, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('bodies of known length end exactly: empty, one chunk, and many chunks; the connection is reused after each', async (t) => {
  const big = randomBytes(300_000);
  const up = await startUpstream(t, (req, res) => {
    if (req.url === '/empty') {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    } else if (req.url === '/small') {
      res.writeHead(200, { 'content-length': '5' });
      res.end('hello');
    } else {
      // Written in pieces with pauses so that the proxy sees many chunks of one known length.
      res.writeHead(200, { 'content-length': String(big.length) });
      let at = 0;
      const next = () => {
        if (at >= big.length) {
          res.end();
          return;
        }
        res.write(big.subarray(at, at + 50_000));
        at += 50_000;
        setTimeout(next, 5);
      };
      next();
    }
  });
  const gw = await startTestGateway(t, proxyConfig(up.url));
  for (let round = 0; round < 2; round++) {
    const empty = await fetch(gw.url('/empty'));
    assert.equal(empty.status, 200);
    assert.equal((await empty.arrayBuffer()).byteLength, 0);
    assert.equal(await (await fetch(gw.url('/small'))).text(), 'hello');
    const many = Buffer.from(await (await fetch(gw.url('/many'))).arrayBuffer());
    assert.ok(many.equals(big));
  }
});
