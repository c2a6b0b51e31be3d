/**
 * Observability end to end: W3C Trace Context propagation and OTLP export (Q26), access log lines,
 * Prometheus metrics, and upstream connection pooling as the metrics and admin API show it (Q34).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startUpstream } from './helpers/upstream.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Polls `check` until it returns a value other than undefined, for at most `ms`. */
async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`condition not met within ${ms} ms`);
    await sleep(25);
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function parseTraceparent(v: string | string[] | undefined) {
  const m = TRACEPARENT_RE.exec(header(v) ?? '');
  assert.ok(m, `not a version 00 traceparent: ${String(v)}`);
  return { traceId: m[1]!, spanId: m[2]!, flags: m[3]! };
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** A local OTLP/HTTP JSON collector; close it after the gateway so the final flush lands. */
async function startCollector() {
  const spans: OtlpSpan[] = [];
  const posts: { url: string; contentType: string | undefined }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ url: req.url ?? '', contentType: req.headers['content-type'] });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    spans,
    posts,
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function attribute(span: OtlpSpan, key: string): unknown {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (v === undefined) return undefined;
  if ('intValue' in v) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}

async function metricsText(gw: TestGateway): Promise<string> {
  const res = await fetch(gw.adminUrl('/metrics'));
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of one sample, matching the metric name and every given label. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function basicGateway(t: TestContext, extra: Record<string, unknown> = {}) {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      { name: 'traced', match: { path: '/t/*' }, proxy: { upstream: 'app', stripPrefix: '/t' } },
      {
        name: 'untraced',
        match: { path: '/u/*' },
        proxy: { upstream: 'app', stripPrefix: '/u' },
        policies: { 'core.tracing': false },
      },
      {
        name: 'unlogged',
        match: { path: '/q/*' },
        proxy: { upstream: 'app', stripPrefix: '/q' },
        policies: { 'core.access-log': false },
      },
    ],
    ...extra,
  });
  return { up, gw };
}

async function get(gw: TestGateway, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(gw.url(path), { headers });
  await res.arrayBuffer();
  return res;
}

test('a valid traceparent keeps its trace id; upstream gets a new span id, the same flags and the tracestate', async (t) => {
  const { up, gw } = await basicGateway(t);
  for (const flags of ['01', '00']) {
    const before = up.seen.length;
    const res = await get(gw, '/t/a', {
      traceparent: `00-${TRACE}-${PARENT}-${flags}`,
      tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    });
    assert.equal(res.status, 200);
    const seen = up.seen[before]!;
    const tp = parseTraceparent(seen.headers.traceparent);
    assert.equal(tp.traceId, TRACE);
    assert.notEqual(tp.spanId, PARENT);
    assert.notEqual(tp.spanId, '0'.repeat(16));
    assert.equal(tp.flags, flags);
    assert.equal(seen.headers.tracestate, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
  }
});

test('each request through the gateway gets its own span id', async (t) => {
  const { up, gw } = await basicGateway(t);
  for (let i = 0; i < 5; i++) await get(gw, '/t/a', { traceparent: `00-${TRACE}-${PARENT}-01` });
  const ids = up.seen.map((s) => parseTraceparent(s.headers.traceparent).spanId);
  assert.equal(new Set(ids).size, 5);
});

test('without a traceparent the upstream gets a fresh valid one', async (t) => {
  const { up, gw } = await basicGateway(t);
  await get(gw, '/t/a');
  await get(gw, '/t/a');
  const [a, b] = up.seen.map((s) => parseTraceparent(s.headers.traceparent));
  assert.ok(a && b);
  assert.notEqual(a.traceId, '0'.repeat(32));
  assert.notEqual(a.spanId, '0'.repeat(16));
  assert.equal(a.flags, '01'); // sampleRatio defaults to 1
  assert.notEqual(a.traceId, b.traceId);
  assert.equal(up.seen[0]!.headers.tracestate, undefined);
});

test('an invalid traceparent starts a fresh trace and its orphan tracestate is not forwarded', async (t) => {
  const { up, gw } = await basicGateway(t);
  const invalid = [
    `00-${TRACE}-${PARENT}-1`, // wrong length
    `00-${TRACE.slice(2)}-${PARENT}-01`,
    `00-${'0'.repeat(32)}-${PARENT}-01`, // all-zero trace id
    `00-${TRACE}-${'0'.repeat(16)}-01`, // all-zero parent id
    `ff-${TRACE}-${PARENT}-01`, // forbidden version
    `00-${TRACE.toUpperCase()}-${PARENT}-01`, // uppercase hex
    `00-${TRACE}-${PARENT}-01-extra`, // version 00 has nothing after the flags
  ];
  for (const traceparent of invalid) {
    const before = up.seen.length;
    const res = await get(gw, '/t/a', { traceparent, tracestate: 'vendor=orphan' });
    assert.equal(res.status, 200);
    const seen = up.seen[before]!;
    const tp = parseTraceparent(seen.headers.traceparent);
    assert.notEqual(tp.traceId, TRACE, traceparent);
    assert.notEqual(tp.traceId, '0'.repeat(32));
    assert.equal(seen.headers.tracestate, undefined, `tracestate forwarded for ${traceparent}`);
    assert.ok(!seen.rawHeaders.some((h) => h.toLowerCase() === 'tracestate'), 'no empty tracestate either');
  }
});

test('a route with core.tracing: false forwards the client traceparent untouched', async (t) => {
  const { up, gw } = await basicGateway(t);
  const traceparent = `00-${TRACE}-${PARENT}-01`;
  await get(gw, '/u/a', { traceparent, tracestate: 'a=b' });
  await get(gw, '/u/a');
  assert.equal(up.seen[0]!.headers.traceparent, traceparent);
  assert.equal(up.seen[0]!.headers.tracestate, 'a=b');
  assert.equal(up.seen[1]!.headers.traceparent, undefined);
});

test('spans are exported over OTLP/HTTP with the ids that went upstream, except for untraced routes', async (t) => {
  const collector = await startCollector();
  const { up, gw } = await basicGateway(t, { observability: { otlp: { endpoint: collector.endpoint } } });
  t.after(collector.close); // after the gateway's own cleanup, which flushes the last batch

  const untracedTrace = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  await get(gw, '/u/skip', { traceparent: `00-${untracedTrace}-${PARENT}-01` });
  const res = await get(gw, '/t/exported', { traceparent: `00-${TRACE}-${PARENT}-01` });
  assert.equal(res.status, 200);
  const sent = parseTraceparent(up.seen.at(-1)!.headers.traceparent);

  const span = await eventually(() => collector.spans.find((s) => s.traceId === TRACE));
  assert.equal(collector.posts[0]!.url, '/v1/traces');
  assert.match(collector.posts[0]!.contentType ?? '', /^application\/json/);
  assert.equal(span.spanId, sent.spanId);
  assert.equal(span.parentSpanId, PARENT);
  assert.equal(attribute(span, 'http.response.status_code'), 200);
  assert.equal(attribute(span, 'http.route'), 'traced');
  assert.equal(attribute(span, 'junction.request_id'), res.headers.get('x-request-id'));
  // The untraced request finished first, so it would have been in this batch or an earlier one.
  assert.ok(!collector.spans.some((s) => s.traceId === untracedTrace));

  // A fresh trace is exported as a root span.
  await get(gw, '/t/root');
  const root = parseTraceparent(up.seen.at(-1)!.headers.traceparent);
  const rootSpan = await eventually(() => collector.spans.find((s) => s.traceId === root.traceId));
  assert.equal(rootSpan.spanId, root.spanId);
  assert.ok(!rootSpan.parentSpanId, 'a new trace has no parent span');
});

test('access log lines carry request id, trace id, route, status, duration and upstream', async (t) => {
  const { up, gw } = await basicGateway(t);
  const res = await get(gw, '/t/logged', { traceparent: `00-${TRACE}-${PARENT}-01` });
  const id = res.headers.get('x-request-id');
  const line = await eventually(() => gw.logs().find((l) => l.msg === 'request' && l.requestId === id));
  assert.equal(line.traceId, TRACE);
  assert.equal(line.route, 'traced');
  assert.equal(line.status, 200);
  assert.equal(line.upstream, 'app');
  assert.equal(line.method, 'GET');
  assert.equal(line.path, '/t/logged');
  assert.equal(typeof line.durationMs, 'number');
  assert.ok((line.durationMs as number) >= 0);
  assert.equal(up.seen[0]!.headers['x-request-id'], id);
});

test('a route with core.access-log: false writes no request line', async (t) => {
  const { gw } = await basicGateway(t);
  const quiet = await get(gw, '/q/a');
  const loud = await get(gw, '/t/a');
  const quietId = quiet.headers.get('x-request-id');
  await eventually(() => gw.logs().find((l) => l.requestId === loud.headers.get('x-request-id')));
  assert.ok(
    !gw.logs().some((l) => l.msg === 'request' && (l.requestId === quietId || l.route === 'unlogged')),
  );
});

test('/metrics counts exactly the requests made, by route, upstream and status, with latency buckets', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-length': '0' });
    res.end();
  });
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [{ name: 'counted', match: { path: '/c/*' }, proxy: { upstream: 'app', stripPrefix: '/c' } }],
  });
  for (let i = 0; i < 7; i++) await get(gw, '/c/ok');
  for (let i = 0; i < 3; i++) await get(gw, '/c/missing');
  const labels = { route: 'counted', upstream: 'app' };
  const text = await eventually(async () => {
    const m = await metricsText(gw);
    return sample(m, 'junction_requests_total', { ...labels, status: '404' }) === 3 ? m : undefined;
  });
  assert.equal(sample(text, 'junction_requests_total', { ...labels, status: '200' }), 7);
  assert.equal(sample(text, 'junction_request_duration_seconds_count', { ...labels, status: '200' }), 7);
  assert.equal(
    sample(text, 'junction_request_duration_seconds_bucket', { ...labels, status: '200', le: '+Inf' }),
    7,
  );
  assert.equal(
    sample(text, 'junction_request_duration_seconds_bucket', { ...labels, status: '200', le: '30' }),
    7,
  );
  const small = sample(text, 'junction_request_duration_seconds_bucket', {
    ...labels,
    status: '200',
    le: '0.0005',
  });
  assert.ok(small !== undefined && small <= 7);
  assert.match(text, /# TYPE junction_request_duration_seconds histogram/);
  // The unmatched fallback is counted apart and does not touch the route's series.
  await get(gw, '/nowhere');
  const after = await eventually(async () => {
    const m = await metricsText(gw);
    return sample(m, 'junction_requests_total', { route: 'unmatched', status: '404' }) === 1 ? m : undefined;
  });
  assert.equal(sample(after, 'junction_requests_total', { ...labels, status: '200' }), 7);
});

test('200 sequential requests reuse one or two pooled connections (Q34)', async (t) => {
  const up = await startUpstream(t);
  let connections = 0;
  up.server.on('connection', () => connections++);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [{ name: 'pooled', match: { path: '/p/*' }, proxy: { upstream: 'app', stripPrefix: '/p' } }],
  });
  for (let i = 0; i < 200; i++) {
    const res = await get(gw, `/p/${i}`);
    assert.equal(res.status, 200);
  }
  const text = await metricsText(gw);
  assert.equal(sample(text, 'junction_upstream_requests_total', { upstream: 'app' }), 200);
  const opened = sample(text, 'junction_upstream_connections_opened_total', { upstream: 'app' });
  assert.ok(opened !== undefined && opened >= 1 && opened <= 2, `opened ${opened} connections`);
  assert.equal(opened, connections);
  assert.equal(up.seen.length, 200);
});

test('pool.connections bounds the sockets a target sees under concurrency, and the admin API agrees', async (t) => {
  let open = 0;
  let maxOpen = 0;
  let connections = 0;
  let inHandler = 0;
  let maxInHandler = 0;
  const up = await startUpstream(t, (_req, res) => {
    inHandler++;
    maxInHandler = Math.max(maxInHandler, inHandler);
    setTimeout(() => {
      inHandler--;
      res.writeHead(200, { 'content-length': '2' });
      res.end('ok');
    }, 50);
  });
  up.server.on('connection', (socket: Socket) => {
    connections++;
    open++;
    maxOpen = Math.max(maxOpen, open);
    socket.on('close', () => open--);
  });
  const gw = await startTestGateway(t, {
    upstreams: { slow: { targets: [up.url], pool: { connections: 2 } } },
    routes: [{ name: 'slow', match: { path: '/s' }, proxy: { upstream: 'slow' } }],
  });
  const results = await Promise.all(Array.from({ length: 20 }, () => get(gw, '/s')));
  assert.deepEqual(
    results.map((r) => r.status),
    Array(20).fill(200),
  );
  assert.equal(up.seen.length, 20);
  assert.ok(maxOpen <= 2, `upstream saw ${maxOpen} sockets at once`);
  assert.ok(maxInHandler <= 2, `upstream served ${maxInHandler} requests at once`);
  assert.ok(connections >= 1 && connections <= 2, `${connections} connections`);

  const res = await fetch(gw.adminUrl('/admin/v1/upstreams'), { headers: gw.auth });
  assert.equal(res.status, 200);
  const { data } = (await res.json()) as {
    data: { name: string; targets: { origin: string; connectionsOpened: number; requestsSent: number }[] }[];
  };
  const slow = data.find((u) => u.name === 'slow');
  assert.ok(slow);
  assert.equal(slow.targets.length, 1);
  assert.equal(slow.targets[0]!.origin, up.url);
  assert.equal(slow.targets[0]!.connectionsOpened, connections);
  assert.equal(slow.targets[0]!.requestsSent, 20);
  const text = await metricsText(gw);
  assert.equal(sample(text, 'junction_upstream_connections_opened_total', { upstream: 'slow' }), connections);
  assert.equal(sample(text, 'junction_upstream_requests_total', { upstream: 'slow' }), 20);
});

test('round robin alternates between two targets', async (t) => {
  const order: string[] = [];
  const reply = (name: string) => (_req: IncomingMessage, res: import('node:http').ServerResponse) => {
    order.push(name);
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  };
  const a = await startUpstream(t, reply('a'));
  const b = await startUpstream(t, reply('b'));
  const gw = await startTestGateway(t, {
    upstreams: { pair: { targets: [a.url, { url: b.url }] } },
    routes: [{ name: 'rr', match: { path: '/rr' }, proxy: { upstream: 'pair' } }],
  });
  for (let i = 0; i < 6; i++) await get(gw, '/rr');
  assert.deepEqual(order, ['a', 'b', 'a', 'b', 'a', 'b']);
  const res = await fetch(gw.adminUrl('/admin/v1/upstreams'), { headers: gw.auth });
  const { data } = (await res.json()) as { data: { name: string; targets: { requestsSent: number }[] }[] };
  assert.deepEqual(
    data.find((u) => u.name === 'pair')?.targets.map((x) => x.requestsSent),
    [3, 3],
  );
});
