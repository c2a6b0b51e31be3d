/**
 * Traffic control in the commerce demo (issue #5): the README's "Traffic control" commands show what
 * they say. Runs examples/commerce/start.ts as `npm start` does, on free ports, with the partner's
 * "100 requests a minute" scaled down to 10 a second (DEMO_PARTNER_*) so the pacing run is short.
 * Each assertion depends on the demo's junction.yaml: without its policy, the test fails.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { claimPort } from './helpers/ports.ts';

const names = [
  'proxy',
  'admin',
  'users',
  'orders',
  'products',
  'partner',
  'slow',
  'payments',
  // The identity half of the demo (issue #4), so a demo already running on the defaults is no obstacle.
  'oidc',
  'web',
  'inventory',
  'staff',
  // Acme's webhook receiver (outbound webhooks), not its default 9111 that another demo may hold.
  'receiver',
] as const;
let ports: Record<(typeof names)[number], number>;
let child: ChildProcess;
let data: string;
const base = () => `http://127.0.0.1:${ports.proxy}`;
const service = (name: 'partner' | 'payments', path: string) => `http://127.0.0.1:${ports[name]}${path}`;

before(async () => {
  // Claimed, not found with listen(0) and let go: see claimPort.
  const free = await Promise.all(names.map(() => claimPort()));
  ports = Object.fromEntries(names.map((n, i) => [n, free[i]!])) as typeof ports;
  data = mkdtempSync(join(tmpdir(), 'junction-demo-traffic-'));
  child = spawn(process.execPath, ['examples/commerce/start.ts'], {
    cwd: new URL('..', import.meta.url),
    env: {
      ...process.env,
      JUNCTION_PROXY_PORT: String(ports.proxy),
      JUNCTION_ADMIN_PORT: String(ports.admin),
      DEMO_USERS_PORT: String(ports.users),
      DEMO_ORDERS_PORT: String(ports.orders),
      DEMO_PRODUCTS_PORT: String(ports.products),
      DEMO_PARTNER_PORT: String(ports.partner),
      DEMO_SLOW_PORT: String(ports.slow),
      DEMO_PAYMENTS_PORT: String(ports.payments),
      DEMO_OIDC_PORT: String(ports.oidc),
      DEMO_WEB_PORT: String(ports.web),
      DEMO_INVENTORY_PORT: String(ports.inventory),
      DEMO_STAFF_PORT: String(ports.staff),
      DEMO_RECEIVER_PORT: String(ports.receiver),
      // 100 a minute, scaled to 10 a second; the gateway paces at 6 a second, a wide margin for a
      // loaded machine whose timers fire late and bunch calls together.
      DEMO_PARTNER_LIMIT: '10',
      DEMO_PARTNER_WINDOW_MS: '1000',
      DEMO_PARTNER_PACE: '6',
      JUNCTION_DATABASE_URL: `sqlite:${join(data, 'junction.db')}`,
      JUNCTION_ADMIN_TOKEN: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-4000); // kept for the failure message only
  });
  await new Promise<void>((resolve, reject) => {
    const onOut = (c: Buffer) => {
      out += c.toString();
      if (!out.includes('Junction commerce demo')) return;
      child.stdout!.off('data', onOut).resume(); // the access log follows; drained, not kept
      resolve();
    };
    child.stdout!.on('data', onOut);
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${out}\n${err}`)));
  });
});

after(() => {
  child?.kill('SIGTERM');
  if (data) rmSync(data, { recursive: true, force: true });
});

interface Problem {
  code: string;
  status: number;
}

test('Q11: a retried charge with the same Idempotency-Key is replayed, and the payment is made once', async () => {
  const charge = (body: unknown, key?: string) =>
    fetch(`${base()}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
  const key = crypto.randomUUID();
  const first = await charge({ amount: 1250, currency: 'EUR' }, key);
  assert.equal(first.status, 201);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const payment = (await first.json()) as { id: string; idempotencyKey: string };
  assert.equal(payment.idempotencyKey, key, 'the key is forwarded to the payments service');

  // Sent again on a 409: the client has the whole answer once its Content-Length is reached, a
  // moment before the gateway has stored it, and a retry in that moment finds the key in use.
  let retry = await charge({ amount: 1250, currency: 'EUR' }, key);
  for (let tries = 0; retry.status === 409 && tries < 50; tries++) {
    await retry.arrayBuffer();
    await new Promise((r) => setTimeout(r, 20));
    retry = await charge({ amount: 1250, currency: 'EUR' }, key);
  }
  assert.equal(retry.status, 201);
  assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(await retry.json(), payment, 'the stored response, not a second charge');

  const other = await charge({ amount: 9999, currency: 'EUR' }, key);
  assert.equal(other.status, 422);
  assert.equal(((await other.json()) as Problem).code, 'idempotency_key_mismatch');

  const keyless = await charge({ amount: 1250, currency: 'EUR' });
  assert.equal(keyless.status, 400);
  assert.equal(((await keyless.json()) as Problem).code, 'idempotency_key_missing');

  const stats = (await (await fetch(service('payments', '/_stats'))).json()) as { charges: number };
  assert.equal(stats.charges, 1, 'one charge for two identical requests, none for the refused ones');
  const read = await fetch(`${base()}/payments/${payment.id}`);
  assert.equal(read.status, 200);
  assert.equal(((await read.json()) as { id: string }).id, payment.id);
});

test('Q3: three times the partner’s limit at once through the pacer: every call succeeds, the partner refuses none', async () => {
  // The demo's partner runs at the scaled limit.
  const control = (await (await fetch(service('partner', '/_control'))).json()) as Record<string, unknown>;
  assert.equal(control.rateLimit, 10);
  assert.equal(control.rateLimitWindowMs, 1000);

  const statuses = await Promise.all(
    Array.from({ length: 30 }, async () => {
      const res = await fetch(`${base()}/partner/batch/rates`);
      await res.arrayBuffer();
      return res.status;
    }),
  );
  assert.deepEqual(
    statuses.filter((s) => s !== 200),
    [],
    'every call through the gateway succeeded',
  );
  const stats = (await (await fetch(service('partner', '/_stats'))).json()) as {
    ok: number;
    limited: number;
  };
  assert.equal(stats.limited, 0, 'zero 429s from the partner');
  assert.ok(stats.ok >= 30, `${stats.ok} answered`); // more only if a try timed out and was retried

  const metrics = await (await fetch(`http://127.0.0.1:${ports.admin}/metrics`)).text();
  const slots = Number(
    /junction_upstream_pacing_wait_seconds_count\{upstream="partner"\} (\S+)/.exec(metrics)?.[1],
  );
  assert.ok(slots >= 30, `every call took a pacing slot (${slots})`);
  assert.match(metrics, /junction_upstream_pacing_queued\{upstream="partner"\} 0\n/);
  const waited = Number(
    /junction_upstream_pacing_wait_seconds_sum\{upstream="partner"\} (\S+)/.exec(metrics)?.[1],
  );
  assert.ok(waited > 1, `the calls queued for their slots (waited ${waited} s in all)`);

  // Without the pacer the partner refuses the excess: straight to it, 35 at once (over at most three
  // of its windows, so more than 30 cannot all pass).
  const direct = await Promise.all(
    Array.from({ length: 35 }, async () => {
      const res = await fetch(service('partner', '/rates'));
      await res.arrayBuffer();
      return res.status;
    }),
  );
  assert.ok(direct.includes(429), 'the partner enforces its limit');
});

test('Q42: the catalog sends RateLimit headers and answers 429 problem+json with Retry-After past 10 a second', async () => {
  const first = await fetch(`${base()}/products/prd_mug`);
  await first.arrayBuffer();
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('ratelimit-policy'), '"per-second";q=10;w=1, "per-hour";q=1000;w=3600');
  assert.match(first.headers.get('ratelimit') ?? '', /^"per-second";r=\d+;t=\d+$/);

  // 25 at once cannot all fit in 10 a second (the sliding window lets fewer than 20 through in one).
  const answers = await Promise.all(
    Array.from({ length: 25 }, async (_, i) => {
      const res = await fetch(`${base()}/${i % 2 ? 'v1/' : ''}products/prd_mug`);
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        type: res.headers.get('content-type'),
        body: await res.text(),
      };
    }),
  );
  const refused = answers.filter((a) => a.status === 429);
  assert.ok(refused.length >= 1, `${refused.length} of 25 refused`);
  assert.ok(answers.every((a) => a.status === 200 || a.status === 429));
  const one = refused[0]!;
  assert.match(one.type ?? '', /^application\/problem\+json/);
  assert.equal((JSON.parse(one.body) as Problem).code, 'rate_limited');
  assert.ok(Number(one.retryAfter) >= 1, `Retry-After: ${one.retryAfter}`);
});
