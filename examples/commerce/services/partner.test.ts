import assert from 'node:assert/strict';
import { request } from 'node:http';
import { type TestContext, test } from 'node:test';
import { behaviourFromEnv, defaultBehaviour, type PartnerOptions, start } from './partner.ts';

async function startPartner(t: TestContext, options: Partial<PartnerOptions> = {}) {
  const partner = await start({ port: 0, ...options });
  t.after(() => partner.close());
  const control = async (body: unknown) => {
    const res = await fetch(`${partner.url}/_control`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const stats = async () => (await (await fetch(`${partner.url}/_stats`)).json()) as Record<string, number>;
  /** Resolves once the partner holds `n` hung requests (a fixed pause may end before one arrives). */
  const hung = async (n: number) => {
    for (const until = Date.now() + 10_000; (await stats()).hung !== n; ) {
      assert.ok(Date.now() < until, `${n} hung request(s) never arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { url: partner.url, control, stats, hung, close: partner.close };
}

/** A raw request, so a reset shows as the socket error it is rather than fetch's generic TypeError. */
function rawGet(url: string): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

test('healthy by default: /rates answers JSON and /_control reads the defaults', async (t) => {
  const { url } = await startPartner(t);
  const res = await fetch(`${url}/rates`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { base: string; rates: Record<string, number> };
  assert.equal(body.base, 'USD');
  assert.equal(typeof body.rates.EUR, 'number');
  assert.deepEqual(await (await fetch(`${url}/_control`)).json(), defaultBehaviour);
});

test('failRate 1 fails every request with failStatus and Retry-After; failRate 0 fails none', async (t) => {
  const { url, control, stats } = await startPartner(t);
  const set = await control({ failRate: 1, failStatus: 502, retryAfterS: 7 });
  assert.equal(set.status, 200);
  assert.equal(set.body.failStatus, 502);
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${url}/rates`);
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('retry-after'), '7');
    assert.equal(((await res.json()) as { error: string }).error, 'partner_failure');
  }
  await control({ failRate: 0, retryAfterS: null });
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${url}/rates`);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
  }
  assert.deepEqual(await stats(), { requests: 20, ok: 10, failed: 10, reset: 0, hung: 0, limited: 0 });
});

test('a fractional failRate fails exactly the requests whose roll falls under it', async (t) => {
  // Two rolls per request: reset (at rate 0, never true), then failure.
  const rolls = [0, 0.1, 0, 0.9, 0, 0.29, 0, 0.3];
  const { url, control } = await startPartner(t, { random: () => rolls.shift() ?? 0.99 });
  await control({ failRate: 0.3 });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${url}/rates`);
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  assert.deepEqual(statuses, [503, 200, 503, 200]);
});

test('latencyMs delays the answer by at least that long', async (t) => {
  const { url, control } = await startPartner(t);
  await control({ latencyMs: 200 });
  const started = performance.now();
  const res = await fetch(`${url}/rates`);
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  assert.ok(performance.now() - started >= 200);
});

test('hang holds /rates open until the client gives up, while /_control still answers', async (t) => {
  const { url, control, stats, hung } = await startPartner(t);
  await control({ hang: true });
  // The client gives up once the partner holds the request, not after a fixed 150 ms that could run
  // out before the request even arrived on a loaded machine (and leave `hung` at 0).
  const giveUp = new AbortController();
  const held = fetch(`${url}/rates`, { signal: giveUp.signal });
  await hung(1);
  giveUp.abort();
  await assert.rejects(held, { name: 'AbortError' });
  assert.equal((await stats()).hung, 1);
  await control({ hang: false });
  assert.equal((await fetch(`${url}/rates`)).status, 200);
});

test('a hung request does not keep close() waiting', async (t) => {
  const { url, control, hung, close } = await startPartner(t);
  await control({ hang: true });
  const pending = rawGet(`${url}/rates`);
  await hung(1); // held by the partner, not just sent: a fixed 50 ms could close before it arrived
  await close();
  assert.deepEqual(await pending, { error: 'ECONNRESET' });
});

test('resetRate 1 resets the connection instead of answering', async (t) => {
  const { url, control, stats } = await startPartner(t);
  await control({ resetRate: 1 });
  assert.deepEqual(await rawGet(`${url}/rates`), { error: 'ECONNRESET' });
  assert.equal((await stats()).reset, 1);
});

test('/health and /healthz answer 503 while failHealth is set', async (t) => {
  const { url, control } = await startPartner(t);
  assert.equal((await fetch(`${url}/health`)).status, 200);
  await control({ failHealth: true, failRate: 1, hang: true });
  for (const path of ['/health', '/healthz']) {
    const res = await fetch(`${url}${path}`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'failing' });
  }
});

test('an invalid control update is refused whole and changes nothing', async (t) => {
  const { url, control } = await startPartner(t);
  const bad = await control({ failRate: 2, latencyMs: 100, colour: 'red' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid_control');
  assert.match(String(bad.body.message), /failRate must be a number from 0 to 1/);
  assert.match(String(bad.body.message), /colour is not a setting/);
  assert.equal((await control([1])).status, 400);
  assert.deepEqual(await (await fetch(`${url}/_control`)).json(), defaultBehaviour);
});

test('DELETE /_control restores the defaults and zeroes the stats', async (t) => {
  const { url, control, stats } = await startPartner(t);
  await control({ failRate: 1, latencyMs: 5 });
  await (await fetch(`${url}/rates`)).arrayBuffer();
  const res = await fetch(`${url}/_control`, { method: 'DELETE' });
  assert.deepEqual(await res.json(), defaultBehaviour);
  assert.equal((await stats()).requests, 0);
});

test('serves rateLimit requests per fixed window, then 429 with Retry-After until the next window', async (t) => {
  let clock = 60_000 * 1000 + 45_000; // 45 s into a minute: 15 s until its window resets
  const { url, control, stats } = await startPartner(t, { now: () => clock });
  await control({ rateLimit: 3 });
  const answers = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${url}/rates`);
    await res.arrayBuffer();
    answers.push([res.status, res.headers.get('ratelimit'), res.headers.get('retry-after')]);
    assert.equal(res.headers.get('ratelimit-policy'), '"partner";q=3;w=60');
  }
  assert.deepEqual(answers, [
    [200, '"partner";r=2;t=15', null],
    [200, '"partner";r=1;t=15', null],
    [200, '"partner";r=0;t=15', null],
    [429, '"partner";r=0;t=15', '15'],
  ]);
  const refused = await fetch(`${url}/rates`);
  assert.equal(((await refused.json()) as { error: string }).error, 'rate_limited');
  clock += 15_000; // the next window
  const again = await fetch(`${url}/rates`);
  await again.arrayBuffer();
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('ratelimit'), '"partner";r=2;t=60');
  assert.deepEqual(await stats(), { requests: 6, ok: 4, failed: 0, reset: 0, hung: 0, limited: 2 });
});

test('the limit is refused at the edge, before faults; rateLimit null lifts it', async (t) => {
  const { url, control, stats, hung } = await startPartner(t, { now: () => 0 });
  await control({ rateLimit: 1, hang: true });
  // The first request is given up once the partner holds it: a 100 ms timeout could abort it before
  // it arrived, and the next one would then be the admitted one, hung for good.
  const giveUp = new AbortController();
  const first = fetch(`${url}/rates`, { signal: giveUp.signal });
  await hung(1);
  giveUp.abort();
  await assert.rejects(first, { name: 'AbortError' });
  assert.equal((await fetch(`${url}/rates`)).status, 429, 'refused at once, not hung');
  await control({ rateLimit: null, hang: false });
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${url}/rates`);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('ratelimit'), null);
  }
  assert.equal((await stats()).limited, 1);
});

test('a starting behaviour is what DELETE /_control restores, and comes from DEMO_PARTNER_* variables', async (t) => {
  const env = { DEMO_PARTNER_LIMIT: '10', DEMO_PARTNER_WINDOW_MS: '1000' };
  assert.deepEqual(behaviourFromEnv(env), { rateLimit: 10, rateLimitWindowMs: 1000 });
  assert.deepEqual(behaviourFromEnv({ DEMO_PARTNER_LIMIT: 'off' }), { rateLimit: null });
  assert.deepEqual(behaviourFromEnv({}), {});
  assert.throws(() => behaviourFromEnv({ DEMO_PARTNER_LIMIT: 'lots' }), RangeError);
  assert.throws(() => behaviourFromEnv({ DEMO_PARTNER_WINDOW_MS: '0' }), RangeError);
  await assert.rejects(start({ port: 0, behaviour: { rateLimit: 0 } }), RangeError);

  const { url, control } = await startPartner(t, { behaviour: behaviourFromEnv(env) });
  const started = await (await fetch(`${url}/_control`)).json();
  assert.deepEqual(started, { ...defaultBehaviour, rateLimit: 10, rateLimitWindowMs: 1000 });
  await control({ rateLimit: 500, failRate: 1 });
  assert.deepEqual(await (await fetch(`${url}/_control`, { method: 'DELETE' })).json(), started);
});
