/**
 * Load balancing and target health end to end (Q36 sticky sessions, Q43 high availability): two
 * real targets behind one upstream; strategies, active health checks, outlier ejection and the
 * 503 when no target is left.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { targetId } from '../src/ingress/upstreams.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startUpstream, type TestUpstream } from './helpers/upstream.ts';

/** Polls `check` until it returns a value other than undefined, for at most `ms`. */
async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) assert.fail(`condition not met within ${ms} ms`);
    await sleep(25);
  }
}

interface Target extends TestUpstream {
  name: string;
  /** What `/health` and every other path answer; tests flip them. */
  state: { health: number; status: number };
  /** Requests other than health checks that reached this target. */
  served(): number;
}

async function startTarget(t: TestContext, name: string): Promise<Target> {
  const state = { health: 200, status: 200 };
  const up = await startUpstream(t, (req, res) => {
    if (req.url === '/health') {
      res.writeHead(state.health, { 'content-length': 0 });
      res.end();
      return;
    }
    res.writeHead(state.status, { 'content-type': 'text/plain', 'content-length': name.length });
    res.end(name);
  });
  return { ...up, name, state, served: () => up.seen.filter((s) => s.url !== '/health').length };
}

async function pair(t: TestContext, upstream: Record<string, unknown> = {}) {
  const a = await startTarget(t, 'a');
  const b = await startTarget(t, 'b');
  const gw = await startTestGateway(t, {
    upstreams: { pair: { targets: [a.url, b.url], ...upstream } },
    routes: [{ name: 'pair', match: { path: '/*' }, proxy: { upstream: 'pair' } }],
  });
  return { a, b, gw };
}

interface Reply {
  status: number;
  body: string;
  setCookie: string | null;
}

async function get(gw: TestGateway, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(gw.url('/x'), { headers });
  return { status: res.status, body: await res.text(), setCookie: res.headers.get('set-cookie') };
}

async function bodies(gw: TestGateway, n: number, headers: Record<string, string> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await get(gw, headers)).body);
  return out;
}

const FAST_CHECKS = {
  path: '/health',
  intervalMs: 100,
  timeoutMs: 1_000,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

test('round robin alternates between the two targets', async (t) => {
  const { gw } = await pair(t);
  const seen = await bodies(gw, 8);
  for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], seen.join(''));
  assert.deepEqual(new Set(seen), new Set(['a', 'b']));
});

test('consistent hash on a header sends the same key to the same target', async (t) => {
  const { gw } = await pair(t, { balance: { strategy: 'consistent-hash', hashOn: { header: 'x-tenant' } } });
  const owners = new Set<string>();
  for (let k = 0; k < 16; k++) {
    const seen = await bodies(gw, 4, { 'x-tenant': `tenant-${k}` });
    assert.equal(new Set(seen).size, 1, `tenant-${k} went to ${seen.join(',')}`);
    owners.add(seen[0]!);
  }
  assert.deepEqual(owners, new Set(['a', 'b']), 'keys spread over both targets');
});

test('sticky cookie: the first answer sets jx_affinity, the cookie keeps the target, and a dead target hands over with a new cookie', async (t) => {
  const { a, b, gw } = await pair(t, { balance: { strategy: 'sticky-cookie' }, healthCheck: FAST_CHECKS });
  const first = await get(gw);
  assert.equal(first.status, 200);
  const m = /^jx_affinity=([0-9a-f]{10}); Path=\/; HttpOnly; SameSite=Lax$/.exec(first.setCookie ?? '');
  assert.ok(m, `set-cookie: ${first.setCookie}`);
  const [pinned, other] = first.body === 'a' ? [a, b] : [b, a];
  assert.equal(m[1], targetId(pinned.url));
  const cookie = `jx_affinity=${m[1]}`;
  for (let i = 0; i < 6; i++) {
    const r = await get(gw, { cookie });
    assert.deepEqual([r.status, r.body, r.setCookie], [200, pinned.name, null]);
  }
  pinned.server.closeAllConnections();
  await new Promise((resolve) => pinned.server.close(resolve));
  const moved = await eventually(async () => {
    const r = await get(gw, { cookie });
    return r.status === 200 ? r : undefined;
  });
  assert.equal(moved.body, other.name);
  assert.equal(moved.setCookie, `jx_affinity=${targetId(other.url)}; Path=/; HttpOnly; SameSite=Lax`);
  const next = await get(gw, { cookie: `jx_affinity=${targetId(other.url)}` });
  assert.deepEqual([next.body, next.setCookie], [other.name, null]);
});

test('active health checks: a target whose /health fails leaves the rotation and rejoins when it passes', async (t) => {
  const { b, gw } = await pair(t, { healthCheck: FAST_CHECKS });
  b.state.health = 500;
  await eventually(async () => ((await bodies(gw, 6)).every((x) => x === 'a') ? true : undefined));
  const gauge = await eventually(async () => {
    const text = await (await fetch(gw.adminUrl('/metrics'))).text();
    return text.includes(`junction_upstream_target_healthy{upstream="pair",target="${b.url}"} 0`)
      ? text
      : undefined;
  });
  assert.match(gauge, /junction_upstream_health_checks_total\{upstream="pair",result="fail"\} [1-9]/);
  b.state.health = 200;
  await eventually(async () => ((await bodies(gw, 4)).includes('b') ? true : undefined));
});

test('outlier detection: a target answering 502 five times in a row is ejected', async (t) => {
  const { a, b, gw } = await pair(t, { outlierDetection: { consecutiveFailures: 5, ejectionMs: 60_000 } });
  b.state.status = 502;
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) statuses.push((await get(gw)).status);
  assert.equal(b.served(), 5, `b served ${b.served()} requests`);
  assert.equal(a.served(), 25);
  assert.deepEqual(statuses.slice(10), Array(20).fill(200));
  const text = await (await fetch(gw.adminUrl('/metrics'))).text();
  assert.match(
    text,
    new RegExp(`junction_upstream_ejections_total\\{upstream="pair",target="${b.url}"\\} 1`),
  );
});

test('outlier detection: a target refusing connections is ejected after five failures in a row', async (t) => {
  const { a, b, gw } = await pair(t, { outlierDetection: { consecutiveFailures: 5, ejectionMs: 60_000 } });
  b.server.closeAllConnections();
  await new Promise((resolve) => b.server.close(resolve));
  const replies: Reply[] = [];
  for (let i = 0; i < 30; i++) replies.push(await get(gw));
  assert.equal(replies.filter((r) => r.status === 502).length, 5);
  assert.deepEqual(
    replies.slice(10).map((r) => r.body),
    Array(20).fill('a'),
  );
  assert.equal(a.served(), 25);
  const text = await (await fetch(gw.adminUrl('/metrics'))).text();
  assert.match(
    text,
    new RegExp(`junction_upstream_ejections_total\\{upstream="pair",target="${b.url}"\\} 1`),
  );
});

test('with every target down the gateway answers 503 no_healthy_target', async (t) => {
  const { a, b, gw } = await pair(t, { healthCheck: { ...FAST_CHECKS, unhealthyThreshold: 1 } });
  a.state.health = 500;
  b.state.health = 503;
  const res = await eventually(async () => {
    const r = await fetch(gw.url('/x'));
    if (r.status === 503) return r;
    await r.text();
    return undefined;
  });
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const problem = (await res.json()) as { code: string; status: number };
  assert.deepEqual([problem.code, problem.status], ['no_healthy_target', 503]);
});
