/**
 * Test support for `core.idempotency`: a payments-like upstream that counts executions, gateways
 * whose route `payments` uses the policy on one of its three stores, and a raw HTTP client (two
 * `Idempotency-Key` fields and chunked bodies are things fetch will not send).
 *
 * - sqlite: the test gateway's own store (its SQLite file);
 * - postgres: a store on a random PostgreSQL schema (src/store/testing.ts), shared by every gateway
 *   of the test, each with its own pool, as separate nodes would have;
 * - redis: 127.0.0.1:6379 under a random key prefix, deleted after the test.
 */
import { randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, request } from 'node:http';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import {
  provideIdempotencyStore,
  type SqlIdempotencyStore,
} from '../../src/ingress/policies/idempotency/index.ts';
import { postgresTarget, type Site } from '../../src/store/testing.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';
import { startUpstream, type TestUpstream } from './upstream.ts';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export type Backend = 'sqlite' | 'postgres' | 'redis';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres', 'redis'];

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json(): Record<string, unknown>;
}

export interface Send {
  method?: string;
  path?: string;
  key?: string | string[];
  body?: string | Buffer;
  /** Sent as a chunked body without Content-Length. */
  chunked?: boolean;
  headers?: Record<string, string>;
}

export function send(gw: TestGateway, s: Send = {}): Promise<Reply> {
  const headers: Record<string, string | string[]> = { 'content-type': 'application/json', ...s.headers };
  if (s.key !== undefined) headers['idempotency-key'] = s.key;
  const body = s.body ?? '';
  if (!s.chunked && body.length > 0) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = request(gw.url(s.path ?? '/payments'), { method: s.method ?? 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: buf,
          json: () => JSON.parse(buf.toString('utf8')) as Record<string, unknown>,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (s.chunked) {
      // Two writes, so the body really arrives in chunks.
      const b = Buffer.from(body);
      req.write(b.subarray(0, b.length >> 1));
      setImmediate(() => req.end(b.subarray(b.length >> 1)));
    } else {
      req.end(body);
    }
  });
}

/**
 * `send`, again while the answer is 409. A retry sent the moment the previous answer was in could
 * find its key still in use: the client had the whole body once the upstream's Content-Length was
 * reached, a moment before the gateway had stored the response (about 1 retry in 100 on
 * PostgreSQL). The capture now holds that last byte until the copy is stored (capture.ts, its
 * test shows it deterministically; 0 of 400 immediate retries got 409 since); the resend stays for
 * what the capture cannot hold back — an answer whose headers are all of it (Content-Length: 0).
 * For tests of what the retry gets (the replay), not of timing.
 */
export async function sendOnceStored(gw: TestGateway, s: Send = {}): Promise<Reply> {
  for (let tries = 0; ; tries++) {
    const reply = await send(gw, s);
    if (reply.status !== 409 || tries === 50) return reply;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Payments {
  up: TestUpstream;
  /** How many times the upstream executed a charge. */
  executions(): number;
  /** The Idempotency-Key each execution received. */
  keys: (string | undefined)[];
}

export interface PaymentsOptions {
  delayMs?: number;
  /** Status for the nth execution (1-based); 201 by default. */
  status?: (n: number) => number;
  /** Body bytes for large-response tests. */
  bodyBytes?: number;
}

/** A charge per request: reads the body, waits `delayMs`, answers 201 with a fresh payment id. */
export async function startPayments(t: TestContext, o: PaymentsOptions = {}): Promise<Payments> {
  let n = 0;
  const keys: (string | undefined)[] = [];
  const up = await startUpstream(t, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const execution = ++n;
      keys.push(req.headers['idempotency-key'] as string | undefined);
      const answer = () => {
        const payment = {
          id: `pay_${randomBytes(6).toString('hex')}`,
          execution,
          received: Buffer.concat(chunks).toString('utf8'),
          pad: o.bodyBytes ? 'x'.repeat(o.bodyBytes) : undefined,
        };
        const text = JSON.stringify(payment);
        res.writeHead(o.status?.(execution) ?? 201, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          location: `/payments/${payment.id}`,
          'set-cookie': 'session=abc; HttpOnly',
          'x-payment-execution': String(execution),
        });
        res.end(text);
      };
      if (o.delayMs) setTimeout(answer, o.delayMs);
      else answer();
    });
  });
  return { up, executions: () => n, keys };
}

export interface StartOptions {
  /** How many gateway nodes share the backend. */
  nodes?: number;
  policy?: Record<string, unknown>;
  /** Route policies listed after core.idempotency. */
  after?: Record<string, unknown>;
  /** Wraps the SQL store each node gets (failure injection). */
  wrap?: (store: SqlIdempotencyStore) => SqlIdempotencyStore;
  config?: Record<string, unknown>;
}

/** Gateways with route `payments` (every path) → `upstream`, guarded by core.idempotency on `backend`. */
export async function startIdempotentGateways(
  t: TestContext,
  backend: Backend,
  upstream: string,
  o: StartOptions = {},
): Promise<TestGateway[]> {
  const prefix = `junction-test:idem:${randomBytes(6).toString('hex')}:`;
  if (backend === 'redis') t.after(() => deleteKeys(prefix));
  const site: Site | undefined = backend === 'postgres' ? await postgresTarget.setup(t) : undefined;
  if (site !== undefined) await (await site.openMigrated()).close();
  const policy = {
    ...o.policy,
    ...(backend === 'redis' ? { store: 'redis', redis: { url: REDIS_URL, keyPrefix: prefix } } : {}),
  };
  const nodes: TestGateway[] = [];
  for (let i = 0; i < (o.nodes ?? 1); i++) {
    const gw = await startTestGateway(t, {
      upstreams: { payments: { targets: [upstream] } },
      routes: [
        {
          name: 'payments',
          match: { path: '/*' },
          proxy: { upstream: 'payments' },
          policies: { 'core.idempotency': policy, ...o.after },
        },
      ],
      ...o.config,
    });
    if (backend !== 'redis') {
      const store = site === undefined ? gw.gateway.store : await site.open();
      provideIdempotencyStore(gw.gateway.services, o.wrap ? o.wrap(store.idempotency) : store.idempotency);
    }
    nodes.push(gw);
  }
  return nodes;
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Lines of `junction_idempotency_requests_total` from the node's /metrics. */
export async function idempotencyMetrics(gw: TestGateway): Promise<string[]> {
  const text = await (await fetch(gw.adminUrl('/metrics'), { headers: gw.auth })).text();
  return text.split('\n').filter((l) => l.startsWith('junction_idempotency_requests_total{'));
}
