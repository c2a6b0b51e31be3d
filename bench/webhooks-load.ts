/**
 * The load generator of `npm run bench -- webhooks` (a child process, never the harness). Two modes:
 *
 *   send    POSTs messages to the gateway's admin API (`POST /admin/v1/apps/{app}/messages`, a bearer
 *           token), `--connections` in flight over keep-alive sockets, for `--duration` seconds or
 *           `--count` messages, optionally paced at `--rate` messages/s in total. Every payload
 *           carries its sequence number and `sent_at` (epoch ms, `performance.timeOrigin + now()`,
 *           the receiver's clock too). With `--record`, prints each accepted message's id and the
 *           moment its 202 arrived, so the harness can measure accept → first attempt.
 *   direct  the delivery peer: POSTs the same payload with Standard Webhooks-shaped headers straight
 *           to the receiver, `--connections` in flight, `--count` requests: what plain undici does
 *           to that receiver without a gateway, a queue or a store in between.
 *
 * Prints one JSON line with the result.
 */
import { createHistogram, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'send' },
    url: { type: 'string' },
    token: { type: 'string', default: '' },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string' },
    count: { type: 'string' },
    rate: { type: 'string' },
    prefix: { type: 'string', default: 'x' },
    'event-type': { type: 'string', default: 'order.created' },
    record: { type: 'boolean', default: false },
  },
});
const url = new URL(values.url!);
const connections = Number(values.connections);
const durationMs = values.duration === undefined ? Number.POSITIVE_INFINITY : Number(values.duration) * 1000;
const count = values.count === undefined ? Number.POSITIVE_INFINITY : Number(values.count);
const rate = values.rate === undefined ? undefined : Number(values.rate);
const now = () => performance.timeOrigin + performance.now();

/** An order.created payload of about 450 bytes, like the events bench's Stripe body. */
function payload(seq: number): Record<string, unknown> {
  return {
    seq,
    sent_at: Number(now().toFixed(3)),
    id: `ord_${values.prefix}_${seq}`,
    customer: { id: 'cus_NffrFeUfNV2Hib', email: 'jenny.rosen@example.com', name: 'Jenny Rosen' },
    lines: [
      { sku: 'sku_tshirt_m_blue', quantity: 2, unit_amount: 1500 },
      { sku: 'sku_mug_white', quantity: 1, unit_amount: 900 },
    ],
    currency: 'eur',
    total: 3900,
    shipping: { method: 'standard', address: { city: 'Lyon', postal_code: '69002', country: 'FR' } },
  };
}

const pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
const histogram = createHistogram();
const statuses: Record<string, number> = {};
const accepted: [string, number][] = [];
let errors = 0;
let next = 0;
let bodyBytes = 0;

function request(seq: number): { headers: Record<string, string>; body: string } {
  if (values.mode === 'direct') {
    const body = JSON.stringify(payload(seq));
    const id = `msg_direct_${values.prefix}_${seq}`;
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'webhook-id-peer': id,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
      },
    };
  }
  return {
    body: JSON.stringify({ event_type: values['event-type'], payload: payload(seq) }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${values.token}` },
  };
}

async function worker(started: number): Promise<void> {
  const deadline = started + durationMs;
  for (;;) {
    if (performance.now() >= deadline || next >= count) return;
    const seq = next++;
    if (rate !== undefined) {
      // Paced: message `seq` leaves at its slot, not as soon as a connection is free.
      const wait = started + (seq * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const { headers, body } = request(seq);
    bodyBytes = body.length;
    const start = performance.now();
    try {
      const res = await pool.request({ path: url.pathname, method: 'POST', headers, body });
      const at = now();
      const text = await res.body.text();
      histogram.record(Math.max(1, Math.round((performance.now() - start) * 1e6)));
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (values.record && res.statusCode === 202)
        accepted.push([(JSON.parse(text) as { id: string }).id, at]);
    } catch {
      errors++;
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: connections }, () => worker(started)));
const elapsedS = (performance.now() - started) / 1000;
await pool.close();

const requests = histogram.count;
const ok = Object.entries(statuses)
  .filter(([s]) => s.startsWith('2'))
  .reduce((a, [, c]) => a + c, 0);
process.stdout.write(
  `${JSON.stringify({
    requests,
    rps: requests / elapsedS,
    seconds: elapsedS,
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    errors,
    non2xx: requests - ok,
    statuses,
    bodyBytes,
    ...(values.record ? { accepted } : {}),
  })}\n`,
);
