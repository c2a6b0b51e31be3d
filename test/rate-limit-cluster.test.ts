/**
 * Accuracy across a cluster: THREE `junction start` processes on one Redis, driven together at
 * 10 × the limit (600 requests in 3 s, round robin over the nodes, each sent on schedule without
 * waiting for earlier answers), and the same on ONE node with the memory backend.
 *
 * What is checked cannot be fooled by a slow machine. The gateway decides at some instant d between
 * the moment the client sent the request (s) and the moment the upstream received it (a), both read
 * here on one clock. A window [t, t + w) *certainly* holds the decisions of the requests whose whole
 * [s, a] lies inside it; more of those than the algorithm's bound is a real overshoot, however late
 * the answers came. The bound per algorithm (docs/rate-limiting.md):
 *   sliding-log      ≤ limit                     in any window of w (exact)
 *   gcra             ≤ limit + burst − 1         in any window of w (exact)
 *   sliding-window   ≤ 2 · limit − 1             in any window of w (its documented error)
 * The likely counts (each request placed at its arrival a) are printed as diagnostics; they are the
 * accuracy figures docs/rate-limiting.md quotes. A lower bound checks the limiter admits what it may.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startCluster } from './helpers/cluster.ts';
import { startUpstream } from './helpers/upstream.ts';

const LIMIT = 20;
const WINDOW_MS = 1000;
const BURST = 5;
const REQUESTS = 600;
const DRIVE_MS = 3000;

const now = () => performance.timeOrigin + performance.now();

const ALGORITHMS = {
  'sliding-log': { bound: LIMIT, sustained: LIMIT },
  gcra: { bound: LIMIT + BURST - 1, sustained: LIMIT },
  'sliding-window': { bound: 2 * LIMIT - 1, sustained: LIMIT },
} as const;
type Name = keyof typeof ALGORITHMS;

interface Sent {
  s: number;
  a?: number;
  status?: number;
}

/** Most requests in any [t, t + w): `certain` counts whole [s, a] intervals, `likely` arrivals. */
function windows(admitted: Required<Sent>[]): { certain: number; likely: number } {
  let certain = 0;
  for (const start of admitted) {
    const t = start.s;
    certain = Math.max(certain, admitted.filter((r) => r.s >= t && r.a < t + WINDOW_MS - 1).length);
  }
  const arrivals = admitted.map((r) => r.a).sort((x, y) => x - y);
  let likely = 0;
  for (let lo = 0, hi = 0; hi < arrivals.length; hi++) {
    while (arrivals[hi]! - arrivals[lo]! >= WINDOW_MS) lo++;
    likely = Math.max(likely, hi - lo + 1);
  }
  return { certain, likely };
}

test('three nodes on one Redis, and one node in memory, stay within each algorithm’s bound', {
  timeout: 120_000,
}, async (t) => {
  const prefix = `junction:rl:cluster:${randomBytes(6).toString('hex')}:`;
  t.after(async () => {
    const redis = new Redis('redis://127.0.0.1:6379');
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const sent = new Map<string, Sent>();
  const up = await startUpstream(t, (req, res) => {
    const r = sent.get(String(req.headers['x-seq']));
    if (r) r.a = now();
    res.writeHead(200, { 'content-length': '2' });
    res.end('ok');
  });
  const route = (name: Name, backend: 'redis' | 'memory') => ({
    name: `${backend}-${name}`,
    match: { path: `/${backend}/${name}` },
    proxy: { upstream: 'api' },
    policies: {
      'core.rate-limit': {
        limits: [
          { algorithm: name, limit: LIMIT, windowMs: WINDOW_MS, burst: BURST, key: { header: 'x-client' } },
        ],
        backend:
          backend === 'memory'
            ? { kind: 'memory' }
            : // A loaded 2-core machine can stall a call for long; a Redis error is a 503 here, never an admission.
              { kind: 'redis', keyPrefix: prefix, timeoutMs: 5000, onRedisError: 'closed' },
      },
    },
  });
  const names = Object.keys(ALGORITHMS) as Name[];
  const nodes = await startCluster(t, 3, {
    redis: { url: 'redis://127.0.0.1:6379' },
    defaults: { policies: { 'core.tracing': true, 'core.access-log': false, 'core.metrics': true } },
    upstreams: { api: { targets: [up.url], pool: { connections: 64 } } },
    routes: [...names.map((n) => route(n, 'redis')), ...names.map((n) => route(n, 'memory'))],
  });

  // Warm every node and route (Redis connection, JIT) on a key of its own.
  for (const node of nodes)
    for (const path of [...names.map((n) => `/redis/${n}`), ...names.map((n) => `/memory/${n}`)]) {
      const res = await fetch(node.proxy + path, { headers: { 'x-client': `warmup-${node.proxy}` } });
      assert.equal(res.status, 200, await res.text());
    }

  const drive = async (path: string, targets: string[]): Promise<Required<Sent>[]> => {
    const client = randomBytes(4).toString('hex');
    const interval = DRIVE_MS / REQUESTS;
    const start = now();
    const pending: Promise<void>[] = [];
    const mine: Sent[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const due = start + i * interval;
      if (due > now()) await sleep(due - now());
      const seq = `${client}-${i}`;
      const r: Sent = { s: now() };
      sent.set(seq, r);
      mine.push(r);
      pending.push(
        fetch(targets[i % targets.length]! + path, { headers: { 'x-client': client, 'x-seq': seq } }).then(
          async (res) => {
            await res.arrayBuffer();
            r.status = res.status;
          },
        ),
      );
    }
    await Promise.all(pending);
    const statuses = new Set(mine.map((r) => r.status));
    assert.deepEqual(
      [...statuses].filter((s) => s !== 200 && s !== 429),
      [],
      `${path}: unexpected statuses`,
    );
    for (const r of mine) assert.equal(r.a !== undefined, r.status === 200, `${path}: admitted = arrived`);
    return mine.filter((r) => r.status === 200) as Required<Sent>[];
  };

  const figures: string[] = [];
  for (const backend of ['redis', 'memory'] as const) {
    const targets = backend === 'redis' ? nodes.map((n) => n.proxy) : [nodes[0]!.proxy];
    for (const name of names) {
      const admitted = await drive(`/${backend}/${name}`, targets);
      const { certain, likely } = windows(admitted);
      const { bound, sustained } = ALGORITHMS[name];
      const seconds = (admitted.at(-1)!.a - admitted[0]!.s) / 1000;
      figures.push(
        `${backend} ${name}: ${admitted.length} admitted of ${REQUESTS} in ${seconds.toFixed(2)} s; ` +
          `most in any ${WINDOW_MS} ms window: ${likely} by arrival, ${certain} certain (bound ${bound})`,
      );
      assert.ok(certain <= bound, figures.at(-1));
      // Not refusing what it may admit: at least the sustained rate over the drive, less one window.
      assert.ok(admitted.length >= sustained * (DRIVE_MS / WINDOW_MS - 1), figures.at(-1));
    }
  }
  for (const f of figures) t.diagnostic(f);
});
