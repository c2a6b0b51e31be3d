/**
 * Bad input and failing upstreams: each is answered with an RFC 9457 problem carrying a stable
 * `code` and the request id, logged under that id, and the gateway keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startRawUpstream, startUpstream } from './helpers/upstream.ts';

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  requestId: string;
  detail?: string;
  instance?: string;
}

async function waitFor<T>(check: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function accessLine(gw: TestGateway, requestId: string): Promise<Record<string, unknown>> {
  return waitFor(() => gw.logs().find((l) => l.msg === 'request' && l.requestId === requestId));
}

/** Asserts a problem+json answer with `code`, and that the access log recorded it under its id. */
async function expectProblem(gw: TestGateway, res: Response, status: number, code: string): Promise<Problem> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = JSON.parse(text) as Problem;
  assert.equal(problem.code, code);
  assert.equal(problem.status, status);
  assert.ok(problem.type.endsWith(`#${code}`));
  assert.match(problem.requestId, /^req_/);
  assert.equal(res.headers.get('x-request-id'), problem.requestId);
  const line = await accessLine(gw, problem.requestId);
  assert.equal(line.status, status);
  assert.equal(line.errorCode, code);
  return problem;
}

/** The gateway still answers: the `/ok` route of every config here is a healthy upstream. */
async function stillServing(gw: TestGateway): Promise<void> {
  const res = await fetch(gw.url('/ok'));
  assert.equal(res.status, 200);
  await res.arrayBuffer();
}

async function gatewayFor(
  t: TestContext,
  badTarget: string,
  options: { timeouts?: Record<string, number>; extra?: Record<string, unknown> } = {},
): Promise<TestGateway> {
  const ok = await startUpstream(t);
  return startTestGateway(t, {
    upstreams: {
      ok: { targets: [ok.url] },
      bad: { targets: [badTarget], ...(options.timeouts ? { timeouts: options.timeouts } : {}) },
    },
    routes: [
      { name: 'ok', match: { path: '/ok' }, proxy: { upstream: 'ok' } },
      { name: 'bad', match: { path: '/bad/*' }, proxy: { upstream: 'bad' } },
    ],
    ...options.extra,
  });
}

function rawExchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (data += c));
    socket.on('error', reject);
    socket.on('end', () => resolve(data));
    socket.write(payload);
  });
}

function portOf(gw: TestGateway): number {
  return Number(new URL(gw.url()).port);
}

function splitResponse(raw: string): { status: number; head: string; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `not an HTTP response: ${JSON.stringify(raw)}`);
  return { status: Number(raw.split(' ')[1]), head: raw.slice(0, end), body: raw.slice(end + 4) };
}

test('an upstream refusing connections is a 502 upstream_unreachable', { timeout: 30_000 }, async (t) => {
  // A port that was just free: nothing listens on it.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const gw = await gatewayFor(t, `http://127.0.0.1:${port}`);
  const res = await fetch(gw.url('/bad/x'));
  await expectProblem(gw, res, 502, 'upstream_unreachable');
  await stillServing(gw);
});

test('an upstream destroying the socket before answering is a 502 upstream_reset', {
  timeout: 30_000,
}, async (t) => {
  const up = await startUpstream(t, (req) => req.socket.destroy());
  const gw = await gatewayFor(t, up.url);
  const res = await fetch(gw.url('/bad/x'));
  await expectProblem(gw, res, 502, 'upstream_reset');
  await stillServing(gw);
});

test('an upstream closing in the middle of its response head is a 502 upstream_reset', {
  timeout: 30_000,
}, async (t) => {
  const target = await startRawUpstream(t, (s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\nContent-Type: text/pl');
      setTimeout(() => s.destroy(), 20);
    });
  });
  const gw = await gatewayFor(t, target);
  const res = await fetch(gw.url('/bad/x'));
  await expectProblem(gw, res, 502, 'upstream_reset');
  await stillServing(gw);
});

/**
 * A listener whose accept queue is full: the kernel drops further SYNs, so connecting hangs until
 * the connector's timeout — a connect timeout without depending on the network. (A "non-routable"
 * address such as 10.255.255.1 is no good here: in this sandbox every outbound TCP connection is
 * accepted by an interceptor, so it connects at once and then never answers.) The listener lives
 * in a worker whose event loop is blocked, so nothing ever accepts.
 */
async function blackHole(t: TestContext): Promise<string> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       const stop = new Int32Array(workerData);
       while (Atomics.load(stop, 0) === 0) Atomics.wait(stop, 0, 0, 50);
       server.close();
     });`,
    { eval: true, workerData: stop.buffer },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const fillers: Socket[] = [];
  t.after(async () => {
    for (const s of fillers) s.destroy();
    Atomics.store(stop, 0, 1);
    Atomics.notify(stop, 0);
    await worker.terminate();
  });
  // Fill the accept queue: connect until a connection no longer completes.
  for (let i = 0; i < 64; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 500);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) return `http://127.0.0.1:${port}`;
  }
  throw new Error('could not fill the accept queue');
}

test('an upstream that does not complete the TCP handshake is a 504 upstream_connect_timeout', {
  timeout: 30_000,
}, async (t) => {
  const target = await blackHole(t);
  const gw = await gatewayFor(t, target, { timeouts: { connectMs: 200 } });
  const res = await fetch(gw.url('/bad/x'));
  await expectProblem(gw, res, 504, 'upstream_connect_timeout');
  await stillServing(gw);
});

test('an upstream that never sends response headers is a 504 upstream_timeout', {
  timeout: 30_000,
}, async (t) => {
  const up = await startUpstream(t, () => {});
  const gw = await gatewayFor(t, up.url, { timeouts: { firstByteMs: 200 } });
  const res = await fetch(gw.url('/bad/x'));
  await expectProblem(gw, res, 504, 'upstream_timeout');
  await stillServing(gw);
});

test('an upstream stalling mid-body cuts the client’s response and logs upstream_idle_timeout', {
  timeout: 30_000,
}, async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    res.write('first part;');
  });
  const gw = await gatewayFor(t, up.url, { timeouts: { idleMs: 200 } });
  const res = await fetch(gw.url('/bad/x'));
  assert.equal(res.status, 200, 'the status was already relayed');
  const id = res.headers.get('x-request-id')!;
  // A truncated body must not look complete (RFC 9112 §8): reading it fails.
  await assert.rejects(res.text());
  const line = await accessLine(gw, id);
  assert.equal(line.errorCode, 'upstream_idle_timeout');
  assert.equal(line.aborted, true);
  await stillServing(gw);
});

test('malformed HTTP from the client gets a 400 bad_request problem and is logged', {
  timeout: 30_000,
}, async (t) => {
  const gw = await gatewayFor(t, 'http://127.0.0.1:9');
  const raw = await rawExchange(portOf(gw), 'this is not http\r\n\r\n');
  const { status, head, body } = splitResponse(raw);
  assert.equal(status, 400);
  assert.match(head, /content-type: application\/problem\+json/i);
  const problem = JSON.parse(body) as Problem;
  assert.equal(problem.code, 'bad_request');
  assert.match(head, new RegExp(`x-request-id: ${problem.requestId}`, 'i'));
  await waitFor(() => gw.logs().find((l) => l.requestId === problem.requestId));
  await stillServing(gw);
});

test('a malformed request pipelined behind a streaming response does not corrupt it', {
  timeout: 30_000,
}, async (t) => {
  // Regression: the 400 for the second request was written into the middle of the first
  // response's chunked body, a response-splitting shape for anything parsing this connection.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('part one;');
    void released.then(() => res.end('part two'));
  });
  const gw = await gatewayFor(t, up.url);
  const received = await new Promise<string>((resolve) => {
    const socket = connect(portOf(gw), '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('error', () => {});
    socket.on('close', () => resolve(data));
    socket.on('data', (c: string) => {
      data += c;
      // Once the first response is streaming, send garbage on the same connection.
      if (data.includes('part one;')) socket.write('NOT HTTP AT ALL\r\n\r\n');
    });
    socket.write('GET /bad/stream HTTP/1.1\r\nHost: a\r\n\r\n');
    setTimeout(() => {
      release();
      setTimeout(() => socket.destroy(), 500);
    }, 1_000);
  });
  assert.equal(
    received.split('HTTP/1.1 ').length - 1,
    1,
    `one response head only: ${JSON.stringify(received)}`,
  );
  await stillServing(gw);
});

test('a header section over limits.maxHeaderBytes gets a 431 headers_too_large problem', {
  timeout: 30_000,
}, async (t) => {
  const gw = await gatewayFor(t, 'http://127.0.0.1:9', { extra: { limits: { maxHeaderBytes: 2048 } } });
  const raw = await rawExchange(
    portOf(gw),
    `GET /ok HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(4096)}\r\nConnection: close\r\n\r\n`,
  );
  const { status, body } = splitResponse(raw);
  assert.equal(status, 431);
  const problem = JSON.parse(body) as Problem;
  assert.equal(problem.code, 'headers_too_large');
  await waitFor(() => gw.logs().find((l) => l.requestId === problem.requestId));
  await stillServing(gw);
});

test('a Content-Length over limits.maxBodyBytes is a 413 and the upstream is never called', {
  timeout: 30_000,
}, async (t) => {
  const ok = await startUpstream(t);
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    limits: { maxBodyBytes: 1024 },
    upstreams: { ok: { targets: [ok.url] }, app: { targets: [up.url] } },
    routes: [
      { name: 'ok', match: { path: '/ok' }, proxy: { upstream: 'ok' } },
      { name: 'upload', match: { path: '/upload' }, proxy: { upstream: 'app' } },
    ],
  });
  const res = await fetch(gw.url('/upload'), { method: 'POST', body: Buffer.alloc(4096, 1) });
  await expectProblem(gw, res, 413, 'payload_too_large');
  assert.equal(up.seen.length, 0);
  // Right at the limit is fine.
  const atLimit = await fetch(gw.url('/upload'), { method: 'POST', body: Buffer.alloc(1024, 1) });
  assert.equal(atLimit.status, 200);
  await atLimit.arrayBuffer();
  await stillServing(gw);
});

test('a chunked body growing over the limit is a 413', { timeout: 30_000 }, async (t) => {
  const ok = await startUpstream(t);
  // The upstream reads the whole body before answering, so the limit trips first.
  let upstreamBytes = 0;
  const up = await startUpstream(t, (req, res) => {
    req.on('data', (c: Buffer) => (upstreamBytes += c.length));
    req.on('end', () => res.end('read it all'));
  });
  const gw = await startTestGateway(t, {
    upstreams: { ok: { targets: [ok.url] }, app: { targets: [up.url] } },
    routes: [
      { name: 'ok', match: { path: '/ok' }, proxy: { upstream: 'ok' } },
      {
        name: 'upload',
        match: { path: '/upload' },
        proxy: { upstream: 'app' },
        limits: { maxBodyBytes: 64 * 1024 },
      },
    ],
  });
  const { status, headers, body } = await new Promise<{
    status: number;
    headers: Record<string, unknown>;
    body: string;
  }>((resolve, reject) => {
    const req = request(
      gw.url('/upload'),
      { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(16 * 1024, 7);
    let sent = 0;
    const pump = () => {
      while (sent < 1024 * 1024) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
  assert.equal(status, 413, body);
  assert.match(String(headers['content-type']), /^application\/problem\+json/);
  const problem = JSON.parse(body) as Problem;
  assert.equal(problem.code, 'payload_too_large');
  const line = await accessLine(gw, problem.requestId);
  assert.equal(line.errorCode, 'payload_too_large');
  assert.ok(upstreamBytes <= 64 * 1024, `the upstream got ${upstreamBytes} bytes, more than the limit`);
  await stillServing(gw);
});

test('a request with both Content-Length and Transfer-Encoding never reaches the upstream', {
  timeout: 30_000,
}, async (t) => {
  // The classic request-smuggling shape (RFC 9112 §6.3, §11.2): two framings, two readings.
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { ok: { targets: [up.url] } },
    routes: [{ name: 'ok', match: { path: '/*' }, proxy: { upstream: 'ok' } }],
  });
  const raw = await rawExchange(
    portOf(gw),
    'POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  const { status, body } = splitResponse(raw);
  assert.equal(status, 400);
  assert.equal((JSON.parse(body) as Problem).code, 'bad_request');
  assert.equal(up.seen.length, 0);
  await stillServing(gw);
});

test('an upstream response with both Content-Length and Transfer-Encoding is a 502 upstream_bad_response', {
  timeout: 30_000,
}, async (t) => {
  const target = await startRawUpstream(t, (s) => {
    s.once('data', () =>
      s.write(
        'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n0\r\n\r\n',
      ),
    );
  });
  const gw = await gatewayFor(t, target);
  const res = await fetch(gw.url('/bad/x'));
  await expectProblem(gw, res, 502, 'upstream_bad_response');
  await stillServing(gw);
});

test('an unknown path is a 404 route_not_found', { timeout: 30_000 }, async (t) => {
  const gw = await gatewayFor(t, 'http://127.0.0.1:9');
  const res = await fetch(gw.url('/nothing/here'));
  const problem = await expectProblem(gw, res, 404, 'route_not_found');
  assert.equal(problem.instance, '/nothing/here');
  await stillServing(gw);
});

test('a known path with another method is a 405 method_not_allowed with Allow', {
  timeout: 30_000,
}, async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { ok: { targets: [up.url] } },
    routes: [
      { name: 'ok', match: { path: '/ok' }, proxy: { upstream: 'ok' } },
      { name: 'things', match: { path: '/things', methods: ['GET', 'POST'] }, proxy: { upstream: 'ok' } },
    ],
  });
  const res = await fetch(gw.url('/things'), { method: 'DELETE' });
  await expectProblem(gw, res, 405, 'method_not_allowed');
  const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim());
  assert.ok(allow.includes('GET') && allow.includes('POST'), `Allow: ${allow}`);
  assert.ok(!allow.includes('DELETE'));
  await stillServing(gw);
});

test('dot segments are resolved before routing, so /public/.. cannot reach another path through /public/*', {
  timeout: 30_000,
}, async (t) => {
  const pub = await startUpstream(t);
  const admin = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { pub: { targets: [pub.url] }, admin: { targets: [admin.url] } },
    routes: [
      { name: 'ok', match: { path: '/ok' }, proxy: { upstream: 'pub' } },
      { name: 'public', match: { path: '/public/*' }, proxy: { upstream: 'pub' } },
      { name: 'admin', match: { path: '/admin/*' }, proxy: { upstream: 'admin' } },
    ],
  });
  const targets = [
    '/public/../admin/users',
    '/public/%2e%2e/admin/users',
    '/public/%2E%2e/admin/users',
    '/public/.%2e/admin/users',
    '/public/./x/../../admin/users',
  ];
  for (const target of targets) {
    const raw = await rawExchange(
      portOf(gw),
      `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    );
    const { status } = splitResponse(raw);
    // Either normalized and routed to the route that owns the path, or refused.
    assert.ok(status === 200 || status === 400, `${target}: ${status}`);
  }
  for (const seen of pub.seen) {
    assert.doesNotMatch(seen.url, /\.\.|%2e/i, `the /public/* upstream got ${seen.url}`);
  }
  assert.ok(admin.seen.every((s) => s.url === '/admin/users'));
  for (const target of ['/..', '/../admin/users', '/public/../../admin', '/public/..\\admin']) {
    const raw = await rawExchange(
      portOf(gw),
      `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    );
    const { status, body } = splitResponse(raw);
    assert.equal(status, 400, target);
    assert.equal((JSON.parse(body) as Problem).code, 'bad_request');
  }
  assert.equal(pub.seen.length, 0);
  await stillServing(gw);
});

test('an absolute-form target is routed by its path and its authority', { timeout: 30_000 }, async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { ok: { targets: [up.url] } },
    routes: [
      { name: 'ok', match: { path: '/ok' }, proxy: { upstream: 'ok' } },
      { name: 'shop', match: { path: '/items/*', hosts: ['shop.example'] }, proxy: { upstream: 'ok' } },
    ],
  });
  const raw = await rawExchange(
    portOf(gw),
    'GET http://shop.example/items/7?full=1 HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n',
  );
  assert.equal(splitResponse(raw).status, 200);
  assert.equal(up.seen.length, 1);
  assert.equal(up.seen[0]!.url, '/items/7?full=1', 'the upstream gets origin-form');
  // RFC 9112 §3.2.2: with an absolute-form target, the Host field is ignored for the target's authority.
  assert.equal(up.seen[0]!.headers['x-forwarded-host'], 'shop.example');
  const other = await rawExchange(
    portOf(gw),
    'GET ftp://shop.example/items/7 HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n',
  );
  assert.equal(splitResponse(other).status, 400);
  await stillServing(gw);
});

test('problems are XML (RFC 9457 Appendix B) for a client that prefers XML', {
  timeout: 30_000,
}, async (t) => {
  const gw = await gatewayFor(t, 'http://127.0.0.1:9');
  const res = await fetch(gw.url('/nothing'), { headers: { accept: 'application/xml' } });
  assert.equal(res.status, 404);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+xml/);
  const xml = await res.text();
  assert.match(xml, /<problem xmlns="urn:ietf:rfc:7807">/);
  assert.match(xml, /<code>route_not_found<\/code>/);
  assert.match(xml, new RegExp(`<requestId>${res.headers.get('x-request-id')}</requestId>`));
  await stillServing(gw);
});

test('markup in the request path is escaped in an XML problem', { timeout: 30_000 }, async (t) => {
  const gw = await gatewayFor(t, 'http://127.0.0.1:9');
  const raw = await rawExchange(
    portOf(gw),
    'GET /<script>alert(1)</script> HTTP/1.1\r\nHost: a\r\nAccept: application/xml\r\nConnection: close\r\n\r\n',
  );
  const { status, head, body } = splitResponse(raw);
  assert.equal(status, 404);
  assert.match(head, /content-type: application\/problem\+xml/i);
  assert.ok(!/<script/i.test(body), body);
  assert.match(body, /&lt;script&gt;/);
  await stillServing(gw);
});

test('a respond route’s JSON answer is converted to XML on request, and 406 for a type it cannot make', {
  timeout: 30_000,
}, async (t) => {
  const gw = await startTestGateway(t, {
    routes: [
      {
        name: 'status',
        match: { path: '/status' },
        respond: { status: 200, body: { service: 'junction', healthy: true, regions: ['eu', 'us'] } },
      },
    ],
  });
  const json = await fetch(gw.url('/status'));
  assert.equal(json.status, 200);
  assert.match(json.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await json.json(), { service: 'junction', healthy: true, regions: ['eu', 'us'] });

  const xml = await fetch(gw.url('/status'), { headers: { accept: 'application/xml' } });
  assert.equal(xml.status, 200);
  assert.match(xml.headers.get('content-type') ?? '', /^application\/xml/);
  assert.match(xml.headers.get('vary') ?? '', /accept/i);
  const text = await xml.text();
  assert.match(text, /<response>.*<service>junction<\/service>.*<\/response>/s);
  assert.match(text, /<regions><item>eu<\/item><item>us<\/item><\/regions>/);

  const csv = await fetch(gw.url('/status'), { headers: { accept: 'text/csv' } });
  const problem = await expectProblem(gw, csv, 406, 'not_acceptable');
  assert.equal(problem.status, 406);
});
