/**
 * `core.fault` end to end (Q30): injected aborts answer problem+json with `fault_injected`, injected
 * delays hold the request at least as long as configured, the header trigger, and that every fault
 * shows in a response header, a log line and the metrics.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ERROR_DOCS_BASE } from '../src/core/problem.ts';
import { startTestGateway } from './helpers/gateway.ts';
import { startUpstream } from './helpers/upstream.ts';

async function setup(t: TestContext, fault: Record<string, unknown>) {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [up.url] } },
    routes: [
      {
        name: 'chaos',
        match: { path: '/chaos/*' },
        proxy: { upstream: 'app', stripPrefix: '/chaos' },
        policies: { 'core.fault': fault },
      },
      { name: 'calm', match: { path: '/calm/*' }, proxy: { upstream: 'app', stripPrefix: '/calm' } },
    ],
  });
  return { up, gw };
}

async function timedGet(url: string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await fetch(url, { headers });
  const body = await res.text();
  return { res, body, ms: performance.now() - started };
}

const faultLines = (logs: Record<string, unknown>[]) => logs.filter((l) => l.msg === 'fault injected');

/**
 * The access line `match` picks, once written: it is written after the response finished or the
 * client left, which may be after the client has its answer (or its error), so a look right away
 * or after a fixed pause can miss it on a loaded machine.
 */
async function accessLine(
  logs: () => Record<string, unknown>[],
  match: (l: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown> | undefined> {
  const until = Date.now() + 10_000;
  for (;;) {
    const line = logs().find((l) => l.msg === 'request' && match(l));
    if (line !== undefined || Date.now() > until) return line;
    await sleep(10);
  }
}

test('an injected abort answers 503 problem+json with code fault_injected and never reaches the upstream', async (t) => {
  const { up, gw } = await setup(t, { abort: { status: 503 } });
  const { res, body } = await timedGet(gw.url('/chaos/orders'));
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(res.headers.get('x-junction-fault'), 'abort=503');
  const problem = JSON.parse(body);
  const requestId = res.headers.get('x-request-id');
  assert.equal(problem.code, 'fault_injected');
  assert.equal(problem.status, 503);
  assert.equal(problem.type, `${ERROR_DOCS_BASE}fault_injected`);
  assert.equal(problem.requestId, requestId);
  assert.equal(up.seen.length, 0);
  // Other routes are untouched: the policy is off unless a route lists it.
  const calm = await timedGet(gw.url('/calm/orders'));
  assert.equal(calm.res.status, 200);
  assert.equal(calm.res.headers.get('x-junction-fault'), null);
  const line = faultLines(gw.logs()).find((l) => l.requestId === requestId);
  assert.ok(line, 'a log line names the request');
  assert.equal(line.level, 'info');
  assert.equal(line.fault, 'abort=503');
  assert.equal(line.route, 'chaos');
  const access = await accessLine(gw.logs, (l) => l.requestId === requestId);
  assert.equal(access?.errorCode, 'fault_injected');
});

test('the abort status comes from the config; the code stays fault_injected', async (t) => {
  const { gw } = await setup(t, { abort: { status: 429, detail: 'rate limit drill' } });
  const { res, body } = await timedGet(gw.url('/chaos/x'));
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('x-junction-fault'), 'abort=429');
  assert.deepEqual((({ code, status, detail }) => ({ code, status, detail }))(JSON.parse(body)), {
    code: 'fault_injected',
    status: 429,
    detail: 'rate limit drill',
  });
});

test('an injected delay holds the request at least the configured time, then proxies it', async (t) => {
  const { up, gw } = await setup(t, { delay: { ms: 300 } });
  const { res, ms } = await timedGet(gw.url('/chaos/slowly'));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-junction-fault'), 'delay=300');
  assert.ok(ms >= 300, `answered after ${ms.toFixed(0)} ms`);
  assert.equal(up.seen.length, 1);
  assert.equal(faultLines(gw.logs()).at(-1)?.fault, 'delay=300');
});

test('with a trigger header only requests that carry it get a fault, and its value picks which', async (t) => {
  const { up, gw } = await setup(t, {
    delay: { ms: 250 },
    abort: { status: 503 },
    when: { header: 'x-junction-fault' },
  });
  const plain = await timedGet(gw.url('/chaos/a'));
  assert.equal(plain.res.status, 200);
  assert.equal(plain.res.headers.get('x-junction-fault'), null);
  assert.equal(faultLines(gw.logs()).length, 0);

  const aborted = await timedGet(gw.url('/chaos/b'), { 'x-junction-fault': 'abort' });
  assert.equal(aborted.res.status, 503);
  assert.equal(aborted.res.headers.get('x-junction-fault'), 'abort=503');

  const delayed = await timedGet(gw.url('/chaos/c'), { 'x-junction-fault': 'delay' });
  assert.equal(delayed.res.status, 200);
  assert.equal(delayed.res.headers.get('x-junction-fault'), 'delay=250');
  assert.ok(delayed.ms >= 250, `answered after ${delayed.ms.toFixed(0)} ms`);

  const both = await timedGet(gw.url('/chaos/d'), { 'x-junction-fault': 'on' });
  assert.equal(both.res.status, 503);
  assert.equal(both.res.headers.get('x-junction-fault'), 'delay=250, abort=503');
  assert.ok(both.ms >= 250);

  assert.deepEqual(
    up.seen.map((s) => s.url),
    ['/a', '/c'],
  );
  assert.deepEqual(
    faultLines(gw.logs()).map((l) => l.fault),
    ['abort=503', 'delay=250', 'delay=250, abort=503'],
  );
});

test('a client that leaves during an injected delay is not proxied for', async (t) => {
  const { up, gw } = await setup(t, { delay: { ms: 2000 } });
  await new Promise<void>((resolve) => {
    const req = request(gw.url('/chaos/gone'));
    req.on('error', () => resolve());
    req.end();
    setTimeout(() => req.destroy(), 100);
  });
  // The gateway logs the request once it sees the client gone; only then is the upstream checked.
  const access = await accessLine(gw.logs, (l) => l.route === 'chaos');
  assert.equal(access?.status, 499);
  assert.equal(up.seen.length, 0);
  assert.equal(
    gw.logs().filter((l) => l.level === 'error').length,
    0,
    'leaving is not an error of the gateway',
  );
});

test('every injected fault is counted by route and kind', async (t) => {
  const { gw } = await setup(t, { abort: { status: 500, percent: 100 } });
  for (let i = 0; i < 3; i++) await timedGet(gw.url('/chaos/x'));
  const text = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  assert.match(text, /^junction_faults_injected_total\{route="chaos",kind="abort"\} 3$/m);
});
