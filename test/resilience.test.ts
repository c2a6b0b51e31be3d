/**
 * Q5, Q19, Q20 end to end: retries (idempotency, Retry-After, budget, per-try timeout), deadline,
 * circuit breaker and bulkhead in front of real upstreams. Assertions are on statuses, codes and
 * counts; the few on time are lower bounds, or compare two groups measured side by side.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startUpstream } from './helpers/upstream.ts';

function reply(res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function route(upstream = 'app', extra: Record<string, unknown> = {}) {
  return {
    name: upstream,
    match: { path: `/${upstream}/*` },
    proxy: { upstream, stripPrefix: `/${upstream}`, ...extra },
  };
}

async function adminUpstream(gw: TestGateway, name: string) {
  const all = (await (await fetch(gw.adminUrl('/admin/v1/upstreams'), { headers: gw.auth })).json()) as {
    data: { name: string; resilience: { circuitBreaker?: { state: string } } }[];
  };
  return all.data.find((u) => u.name === name)!;
}

const fastRetry = { attempts: 3, backoff: { strategy: 'none' }, budget: false };

test('a 503 is retried and the client gets the later 200; the upstream saw three tries', async (t) => {
  let n = 0;
  const up = await startUpstream(t, (req, res) => {
    req.resume();
    n++;
    if (n < 3) reply(res, 503, 'busy');
    else reply(res, 200, 'ok');
  });
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url], resilience: { retry: fastRetry } } },
    routes: [route()],
  });
  const res = await fetch(gw.url('/app/x'));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ok');
  assert.equal(up.seen.length, 3);
});

test('a POST is not retried unless it carries an Idempotency-Key, and then its body is sent again intact', async (t) => {
  const bodies: string[] = [];
  let n = 0;
  const up = await startUpstream(t, (req: IncomingMessage, res) => {
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => hash.update(c));
    req.on('end', () => {
      bodies.push(hash.digest('hex'));
      n++;
      // The plain POST's only try, then the keyed POST's first try, fail; its retry succeeds.
      if (n < 3) reply(res, 503, 'busy');
      else reply(res, 201, 'created');
    });
  });
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url], resilience: { retry: fastRetry } } },
    routes: [route()],
  });
  const payload = randomBytes(20_000);
  const plain = await fetch(gw.url('/app/pay'), { method: 'POST', body: payload });
  assert.equal(plain.status, 503, 'a POST without a key is sent once');
  assert.equal(bodies.length, 1);
  const keyed = await fetch(gw.url('/app/pay'), {
    method: 'POST',
    body: payload,
    headers: { 'idempotency-key': 'k1' },
  });
  assert.equal(keyed.status, 201);
  assert.equal(bodies.length, 3);
  const expected = createHash('sha256').update(payload).digest('hex');
  assert.deepEqual(bodies, [expected, expected, expected]);
});

test("the upstream's Retry-After is waited out before the retry", async (t) => {
  const times: number[] = [];
  const up = await startUpstream(t, (_req, res) => {
    times.push(Date.now());
    if (times.length === 1) reply(res, 503, 'later', { 'retry-after': '1' });
    else reply(res, 200, 'ok');
  });
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url], resilience: { retry: fastRetry } } },
    routes: [route()],
  });
  assert.equal((await fetch(gw.url('/app/x'))).status, 200);
  assert.equal(times.length, 2);
  assert.ok(times[1]! - times[0]! >= 950, `waited ${times[1]! - times[0]!} ms`);
});

test('a Retry-After beyond retryAfter.maxMs ends the retries with the upstream answer', async (t) => {
  const up = await startUpstream(t, (_req, res) => reply(res, 503, 'much later', { 'retry-after': '3600' }));
  const gw = await startTestGateway(t, {
    upstreams: {
      app: { targets: [up.url], resilience: { retry: { ...fastRetry, retryAfter: { maxMs: 2000 } } } },
    },
    routes: [route()],
  });
  const res = await fetch(gw.url('/app/x'));
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '3600');
  assert.equal(up.seen.length, 1);
});

test('the retry budget keeps retries to a fraction of requests during an outage', async (t) => {
  const up = await startUpstream(t, (_req, res) => reply(res, 503, 'down'));
  const gw = await startTestGateway(t, {
    upstreams: {
      app: {
        targets: [up.url],
        resilience: {
          retry: {
            attempts: 3,
            backoff: { strategy: 'none' },
            budget: { ratio: 0.2, minRetriesPerSecond: 0.1 },
          },
        },
      },
    },
    routes: [route()],
  });
  for (let i = 0; i < 50; i++) assert.equal((await fetch(gw.url('/app/x'))).status, 503);
  // Without a budget: 150 tries. With it: 50 requests + at most 20 % of them + the 1-token reserve.
  assert.ok(up.seen.length <= 50 + 10 + 1, `upstream saw ${up.seen.length} tries`);
  assert.ok(up.seen.length > 50, 'some retries were allowed');
  const metrics = await (await fetch(gw.adminUrl('/metrics'))).text();
  assert.match(metrics, /junction_upstream_retry_budget_exhausted_total\{upstream="app"\} [1-9]/);
});

test('a hanging first try is cut by the per-try timeout and the retry answers', async (t) => {
  let n = 0;
  const up = await startUpstream(t, (_req, res) => {
    n++;
    if (n === 1) return; // hang: never answers
    reply(res, 200, 'second');
  });
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url], resilience: { retry: { ...fastRetry, perTryTimeoutMs: 300 } } } },
    routes: [route()],
  });
  const res = await fetch(gw.url('/app/x'));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'second');
});

test('the overall deadline answers 504 deadline_exceeded, and a route can set its own', async (t) => {
  const up = await startUpstream(t, () => {}); // never answers
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url], resilience: { timeoutMs: 60_000 } } },
    routes: [route('app', { resilience: { timeoutMs: 200 } })],
  });
  const res = await fetch(gw.url('/app/x'));
  assert.equal(res.status, 504);
  assert.equal(((await res.json()) as { code: string }).code, 'deadline_exceeded');
});

test('the circuit opens after consecutive failures, fails fast with Retry-After, probes and closes', async (t) => {
  let healthy = false;
  const up = await startUpstream(t, (_req, res) =>
    healthy ? reply(res, 200, 'ok') : reply(res, 500, 'broken'),
  );
  const gw = await startTestGateway(t, {
    upstreams: {
      app: {
        targets: [up.url],
        // 2 s open: the checks of the open state below (three round trips) must all fit inside it, also
        // on a loaded machine; with 500 ms a stall let the circuit half-open under them.
        resilience: { circuitBreaker: { mode: 'consecutive', consecutiveFailures: 3, resetMs: 2_000 } },
      },
    },
    routes: [route()],
  });
  for (let i = 0; i < 3; i++) assert.equal((await fetch(gw.url('/app/x'))).status, 500);
  const open = await fetch(gw.url('/app/x'));
  assert.equal(open.status, 503);
  assert.equal(((await open.json()) as { code: string }).code, 'circuit_open');
  assert.ok(Number(open.headers.get('retry-after')) >= 1);
  assert.equal(up.seen.length, 3, 'an open circuit does not call the upstream');
  assert.equal((await adminUpstream(gw, 'app')).resilience.circuitBreaker?.state, 'open');
  const metrics = await (await fetch(gw.adminUrl('/metrics'))).text();
  assert.match(metrics, /junction_upstream_circuit_state\{upstream="app"\} 2/);

  healthy = true;
  await new Promise((r) => setTimeout(r, 2_100));
  assert.equal((await fetch(gw.url('/app/x'))).status, 200, 'the half-open probe goes through');
  assert.equal((await adminUpstream(gw, 'app')).resilience.circuitBreaker?.state, 'closed');
  assert.equal((await fetch(gw.url('/app/x'))).status, 200);
});

test('a full bulkhead refuses at once, and a slow upstream does not slow calls to another one', async (t) => {
  const held: ServerResponse[] = [];
  const slow = await startUpstream(t, (_req, res) => held.push(res));
  const fast = await startUpstream(t, (_req, res) => reply(res, 200, 'fast'));
  const gw = await startTestGateway(t, {
    upstreams: {
      slow: { targets: [slow.url], resilience: { bulkhead: { maxConcurrent: 2, maxQueue: 0 } } },
      fast: { targets: [fast.url], resilience: { bulkhead: { maxConcurrent: 20 } } },
    },
    routes: [route('slow'), route('fast')],
  });
  t.after(() => {
    for (const r of held) r.destroy();
  });
  const stuck = [fetch(gw.url('/slow/a')), fetch(gw.url('/slow/b'))];
  while (held.length < 2) await new Promise((r) => setTimeout(r, 10));
  const refused = await fetch(gw.url('/slow/c'));
  assert.equal(refused.status, 503);
  assert.equal(((await refused.json()) as { code: string }).code, 'bulkhead_full');
  assert.equal(slow.seen.length, 2);

  // With the slow upstream's slots held, the fast one still answers every call.
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 30 }, () => fetch(gw.url('/fast/x')).then((r) => r.status)),
  );
  assert.deepEqual(new Set(answers), new Set([200]));
  assert.ok(Date.now() - started < 10_000);
  for (const r of held) reply(r, 200, 'late');
  assert.deepEqual(
    (await Promise.all(stuck)).map((r) => r.status),
    [200, 200],
  );
});

test('without resilience config the proxy does not retry', async (t) => {
  const up = await startUpstream(t, (_req, res) => reply(res, 503, 'busy'));
  const gw = await startTestGateway(t, { upstreams: { app: { targets: [up.url] } }, routes: [route()] });
  assert.equal((await fetch(gw.url('/app/x'))).status, 503);
  assert.equal(up.seen.length, 1);
});
