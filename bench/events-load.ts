/**
 * The load generator of `npm run bench -- events` (a child process, never the harness): POSTs
 * Stripe-signed webhooks to one URL over `--connections` keep-alive connections for `--duration`
 * seconds, one request in flight per connection, and prints one JSON line with the result.
 *
 * Every request carries a new event id (`evt_<prefix>_<n>`), so none is a duplicate, and a
 * `Stripe-Signature` over exactly its bytes. wrk cannot do that without a precomputed list of
 * (body, signature) pairs as long as the run, whose length is unknown before the run: so this is a
 * small Node loop (undici Pool) that builds and signs each body just before sending it. Building and
 * signing (JSON.stringify of ~450 bytes, one HMAC-SHA256) is timed apart and reported as `signUs`:
 * 5–17 µs on the 2-core VM, about 1 % of a core at 600 requests/s. Responses are counted by status:
 * 202 is a stored event, 200 a duplicate.
 */
import { createHistogram, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { STORED_HEADERS, stripeEvent, stripeSignature } from './lib/stripe.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    secret: { type: 'string' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '4' },
    prefix: { type: 'string', default: 'x' },
  },
});
const url = new URL(values.url!);
const secret = values.secret!;
const connections = Number(values.connections);
const durationMs = Number(values.duration) * 1000;
const prefix = values.prefix;

const pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
const histogram = createHistogram();
const statuses: Record<string, number> = {};
let errors = 0;
let n = 0;
const path = url.pathname;

async function worker(deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    n++;
    const t = Math.floor(Date.now() / 1000);
    const body = stripeEvent(prefix, n, t);
    const headers = { ...STORED_HEADERS, 'stripe-signature': stripeSignature(secret, body, t) };
    const start = performance.now();
    try {
      const res = await pool.request({ path, method: 'POST', headers, body });
      await res.body.dump();
      histogram.record(Math.max(1, Math.round((performance.now() - start) * 1e6)));
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    } catch {
      errors++;
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: connections }, () => worker(started + durationMs)));
const elapsedS = (performance.now() - started) / 1000;
await pool.close();

// What signing cost per request, measured apart from the run.
const signStart = performance.now();
const SIGN_SAMPLES = 5000;
for (let i = 0; i < SIGN_SAMPLES; i++) stripeSignature(secret, stripeEvent('sign', i, 1), 1);
const signUs = ((performance.now() - signStart) * 1000) / SIGN_SAMPLES;

const requests = histogram.count;
const ok = Object.entries(statuses)
  .filter(([s]) => s.startsWith('2'))
  .reduce((a, [, c]) => a + c, 0);
process.stdout.write(
  `${JSON.stringify({
    requests,
    rps: requests / elapsedS,
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    errors,
    non2xx: requests - ok,
    statuses,
    bodyBytes: stripeEvent(prefix, n, 1_700_000_000).length,
    signUs: Number(signUs.toFixed(2)),
  })}\n`,
);
