/**
 * Q3 end to end: egress pacing in front of a partner with a strict rate limit (10 requests per 1 s
 * window: "100 requests/minute" scaled down in time). Assertions are on statuses, codes, counts and
 * orderings; the one on time is a gap the pacer must leave, a lower bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { startRateLimitedPartner } from './helpers/rate-limited.ts';
import { startUpstream } from './helpers/upstream.ts';

interface PacerView {
  queued: number;
  backlogMs: number;
  currentRequests: number;
  decreases: number;
  totals: { admitted: number; waited: number; queueFull: number; waitExceeded: number; pauses: number };
}

async function pacerOf(gw: TestGateway, name: string): Promise<PacerView> {
  const all = (await (await fetch(gw.adminUrl('/admin/v1/upstreams'), { headers: gw.auth })).json()) as {
    data: { name: string; resilience: { pacer: PacerView } }[];
  };
  return all.data.find((u) => u.name === name)!.resilience.pacer;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting until ${what}`);
}

function route(name: string) {
  return { name, match: { path: `/${name}/*` }, proxy: { upstream: name, stripPrefix: `/${name}` } };
}

test('more load than the partner allows: every call succeeds, later, and the partner never answers 429', async (t) => {
  const paced = await startRateLimitedPartner(t, { limit: 10, windowMs: 1_000 });
  const direct = await startRateLimitedPartner(t, { limit: 10, windowMs: 1_000 });
  const gw = await startTestGateway(t, {
    upstreams: {
      partner: {
        targets: [paced.up.url],
        // One under the partner's 10 per second: the margin absorbs timer and network jitter.
        resilience: { pacing: { rate: { requests: 9, perMs: 1_000 }, maxWaitMs: 10_000 } },
      },
      unpaced: { targets: [direct.up.url] },
    },
    routes: [route('partner'), route('unpaced')],
  });
  const burst = (path: string, n: number) =>
    Promise.all(Array.from({ length: n }, () => fetch(gw.url(path)).then((r) => r.status)));

  const control = await burst('/unpaced/rates', 60);
  assert.ok(control.includes(429), 'without pacing the partner refuses the excess');

  const statuses = await burst('/partner/rates', 30);
  assert.deepEqual(new Set(statuses), new Set([200]), 'every client call succeeded');
  assert.equal(paced.arrivals.length, 30);
  assert.equal(paced.throttled(), 0, 'zero 429s from the partner');
  assert.ok(paced.busiestWindow() <= 10);

  const view = await pacerOf(gw, 'partner');
  assert.equal(view.totals.admitted, 30);
  assert.ok(view.totals.waited >= 20, 'the pacer queued the excess instead of refusing it');
  assert.equal(view.queued, 0);
  const metrics = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  assert.match(metrics, /junction_upstream_pacing_wait_seconds_count\{upstream="partner"\} 30/);
  assert.match(metrics, /junction_upstream_pacing_queued\{upstream="partner"\} 0/);
});

test('a 429 with Retry-After pauses the pacer: nothing reaches the partner until then, and it resumes slower', async (t) => {
  const partner = await startRateLimitedPartner(t, {
    limit: 100,
    windowMs: 1_000,
    throttle: { nth: 2, retryAfterS: 1 },
  });
  const gw = await startTestGateway(t, {
    upstreams: {
      partner: {
        targets: [partner.up.url],
        resilience: {
          // 429 in retryOn: the throttled call is sent again once the pause is over.
          retry: { attempts: 2, retryOn: [429], backoff: { strategy: 'none' }, budget: false },
          // 2/s: the 429 has 500 ms to get back to the pacer before the next slot would send a call
          // into the pause (at 5/s a loaded machine could take the 200 ms it had).
          pacing: { rate: { requests: 2, perMs: 1_000 }, maxWaitMs: 15_000 },
        },
      },
    },
    routes: [route('partner')],
  });
  const statuses = await Promise.all(
    Array.from({ length: 6 }, () => fetch(gw.url('/partner/rates')).then((r) => r.status)),
  );
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
  const throttledAt = partner.arrivals.find((a) => a.status === 429)!.at;
  const during = partner.arrivals.filter((a) => a.at > throttledAt && a.at < throttledAt + 1_000);
  assert.deepEqual(during, [], 'no request during the Retry-After pause');
  const after = partner.arrivals.filter((a) => a.at >= throttledAt + 1_000);
  assert.equal(after.length, 5, 'then the four waiting calls and the retried one');
  assert.equal(partner.arrivals.length, 7);

  const view = await pacerOf(gw, 'partner');
  assert.equal(view.totals.pauses, 1);
  assert.equal(view.decreases, 1, 'the rate was halved once');
  const metrics = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  assert.match(metrics, /junction_upstream_pacing_pauses_total\{upstream="partner",reason="throttled"\} 1/);
});

test('a full queue refuses at once with 503 pacing_queue_full; a client that leaves frees its place and slot', async (t) => {
  const up = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: {
      partner: {
        targets: [up.url],
        resilience: { pacing: { rate: { requests: 1, perMs: 10_000 }, maxQueue: 1 } },
      },
    },
    routes: [route('partner')],
  });
  assert.equal((await fetch(gw.url('/partner/a'))).status, 200);
  const leaving = new AbortController();
  const queued = fetch(gw.url('/partner/b'), { signal: leaving.signal }).catch((err: Error) => err.name);
  await until(async () => (await pacerOf(gw, 'partner')).queued === 1, 'b is queued');
  const before = await pacerOf(gw, 'partner');
  assert.ok(before.backlogMs > 10_000, 'b holds the slot after the next');

  const refused = await fetch(gw.url('/partner/c'));
  assert.equal(refused.status, 503);
  assert.match(refused.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  const problem = (await refused.json()) as { code: string };
  assert.equal(problem.code, 'pacing_queue_full');

  leaving.abort();
  assert.equal(await queued, 'AbortError');
  await until(async () => (await pacerOf(gw, 'partner')).queued === 0, 'b left the queue');
  const after = await pacerOf(gw, 'partner');
  assert.ok(after.backlogMs <= 10_000, 'its slot was given back');
  assert.deepEqual(
    up.seen.map((s) => s.url),
    ['/a'],
    'b never reached the partner',
  );
  // The place is free again: the next call queues instead of being refused.
  const next = new AbortController();
  const d = fetch(gw.url('/partner/d'), { signal: next.signal }).catch((err: Error) => err.name);
  await until(async () => (await pacerOf(gw, 'partner')).queued === 1, 'd is queued');
  next.abort();
  assert.equal(await d, 'AbortError');
  assert.equal((await pacerOf(gw, 'partner')).totals.queueFull, 1);
});

test('a slot beyond maxWaitMs, or beyond the route deadline, is refused at once with pacing_wait_exceeded', async (t) => {
  const up = await startUpstream(t);
  const pacing = { rate: { requests: 1, perMs: 10_000 } };
  const gw = await startTestGateway(t, {
    upstreams: {
      short: { targets: [up.url], resilience: { pacing: { ...pacing, maxWaitMs: 1_000 } } },
      deadline: { targets: [up.url], resilience: { timeoutMs: 300, pacing } },
    },
    routes: [route('short'), route('deadline')],
  });
  assert.equal((await fetch(gw.url('/short/1'))).status, 200);
  const refused = await fetch(gw.url('/short/2'));
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '10');
  assert.equal(((await refused.json()) as { code: string }).code, 'pacing_wait_exceeded');

  assert.equal((await fetch(gw.url('/deadline/1'))).status, 200);
  // The slot is 10 s away and the deadline 300 ms: waiting could only end in a 504, so it does not.
  const late = await fetch(gw.url('/deadline/2'));
  assert.equal(late.status, 503);
  const problem = (await late.json()) as { code: string; detail: string };
  assert.equal(problem.code, 'pacing_wait_exceeded');
  assert.match(problem.detail, /past the request's deadline/);
  const view = await pacerOf(gw, 'deadline');
  assert.equal(view.queued, 0, 'the call never queued');
  assert.ok(view.backlogMs <= 10_000, 'and its slot');
  assert.equal(up.seen.length, 2);
});

test('a reload keeps the schedule while pacing is unchanged, even when other resilience settings change', async (t) => {
  const up = await startUpstream(t);
  const config = (maxConcurrent: number) => ({
    upstreams: {
      partner: {
        targets: [up.url],
        resilience: {
          bulkhead: { maxConcurrent },
          pacing: { rate: { requests: 1, perMs: 60_000 }, maxWaitMs: 0 },
        },
      },
    },
    routes: [route('partner')],
  });
  const gw = await startTestGateway(t, config(8));
  assert.equal((await fetch(gw.url('/partner/a'))).status, 200);
  gw.writeConfig(config(16));
  assert.equal((await gw.gateway.reload()).status, 'applied');
  const next = await fetch(gw.url('/partner/b'));
  assert.equal(next.status, 503, 'the slot taken before the reload is still taken');
  assert.equal(((await next.json()) as { code: string }).code, 'pacing_wait_exceeded');
  assert.equal((await pacerOf(gw, 'partner')).totals.admitted, 1);
});

test('shared: redis without a Redis URL is a config error at the upstream', async (t) => {
  await assert.rejects(
    startTestGateway(
      t,
      {
        upstreams: {
          partner: {
            targets: ['http://127.0.0.1:9'],
            resilience: { pacing: { rate: { requests: 1, perMs: 1_000 }, shared: 'redis' } },
          },
        },
        routes: [route('partner')],
      },
      { env: { JUNCTION_REDIS_URL: '' } },
    ),
    /upstreams\/partner\/resilience.*redis\.url/s,
  );
});
