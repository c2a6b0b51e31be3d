/**
 * Q3 across nodes: two gateways pacing one partner through one Redis schedule (`shared: redis`,
 * same key prefix). Needs Redis on 127.0.0.1:6379; each test uses its own prefix and deletes its keys.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import { closePacing } from '../src/ingress/pacing.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { type RateLimitedPartner, startRateLimitedPartner } from './helpers/rate-limited.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

async function twoGateways(
  t: TestContext,
  partner: RateLimitedPartner,
  resilience: Record<string, unknown>,
): Promise<TestGateway[]> {
  const keyPrefix = `junction-test:pacing:${randomBytes(6).toString('hex')}:`;
  t.after(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const config = {
    redis: { url: REDIS_URL },
    upstreams: {
      partner: {
        targets: [partner.up.url],
        resilience: {
          ...resilience,
          pacing: { ...(resilience.pacing as object), shared: 'redis', keyPrefix },
        },
      },
    },
    routes: [{ name: 'partner', match: { path: '/partner/*' }, proxy: { upstream: 'partner' } }],
  };
  const gateways = [await startTestGateway(t, config), await startTestGateway(t, config)];
  t.after(async () => {
    for (const gw of gateways) await closePacing(gw.gateway.services);
  });
  return gateways;
}

const burst = (gw: TestGateway, n: number) =>
  Array.from({ length: n }, () => fetch(gw.url('/partner/rates')).then((r) => r.status));

test('two gateways on one Redis schedule keep the partner under its limit together', async (t) => {
  const partner = await startRateLimitedPartner(t, { limit: 10, windowMs: 1_000 });
  // Each node alone would send 8 a second; only a shared schedule keeps the pair under 10. The
  // margin of 2 absorbs the lag of two gateways, Redis and the partner sharing one event loop.
  const [a, b] = await twoGateways(t, partner, {
    pacing: { rate: { requests: 8, perMs: 1_000 }, maxWaitMs: 10_000 },
  });
  const statuses = await Promise.all([...burst(a!, 15), ...burst(b!, 15)]);
  assert.deepEqual(new Set(statuses), new Set([200]));
  assert.equal(partner.arrivals.length, 30);
  assert.equal(partner.throttled(), 0, 'zero 429s from the partner');
  assert.ok(partner.busiestWindow() <= 10);
  const spanMs = partner.arrivals.at(-1)!.at - partner.arrivals[0]!.at;
  assert.ok(spanMs >= 3_000, `30 calls at 8 a second take over 3.5 s in all, not half that (${spanMs} ms)`);
});

test('a Retry-After seen by one gateway pauses the other too', async (t) => {
  const partner = await startRateLimitedPartner(t, {
    limit: 100,
    windowMs: 1_000,
    throttle: { nth: 2, retryAfterS: 1 },
  });
  const [a, b] = await twoGateways(t, partner, {
    pacing: { rate: { requests: 5, perMs: 1_000 }, maxWaitMs: 10_000 },
  });
  const statuses = await Promise.all([...burst(a!, 3), ...burst(b!, 3)]);
  assert.equal(statuses.filter((s) => s === 429).length, 1, 'the throttled call (no retry configured)');
  assert.equal(statuses.filter((s) => s === 200).length, 5);
  const throttledAt = partner.arrivals.find((x) => x.status === 429)!.at;
  const during = partner.arrivals.filter((x) => x.at > throttledAt && x.at < throttledAt + 1_000);
  assert.deepEqual(during, [], 'neither gateway sent anything during the pause');
  assert.equal(partner.arrivals.filter((x) => x.at >= throttledAt + 1_000).length, 4);
});
