/**
 * The README's quick start: `npm start` runs the commerce demo, and the five commands it lists show
 * what they say. Runs examples/commerce/start.ts as `npm start` does, on free ports.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { claimPort } from './helpers/ports.ts';

test('the quick start demo answers the README commands', async (t) => {
  // Every service on a free port, so the test runs beside other demos (and a developer's `npm start`).
  const services = [
    'USERS',
    'ORDERS',
    'PRODUCTS',
    'PARTNER',
    'SLOW',
    'PAYMENTS',
    'OIDC',
    'WEB',
    'INVENTORY',
    'STAFF',
    'RECEIVER',
  ];
  // Claimed, not found with listen(0) and let go: see claimPort. The receiver too, not its default 9111.
  const [proxy, admin, ...servicePorts] = await Promise.all([0, 1, ...services].map(() => claimPort()));
  const data = mkdtempSync(join(tmpdir(), 'junction-quickstart-'));
  const child = spawn(process.execPath, ['examples/commerce/start.ts'], {
    cwd: new URL('..', import.meta.url),
    env: {
      ...process.env,
      JUNCTION_PROXY_PORT: String(proxy),
      JUNCTION_ADMIN_PORT: String(admin),
      ...Object.fromEntries(services.map((name, i) => [`DEMO_${name}_PORT`, String(servicePorts[i])])),
      DEMO_PKI_DIR: join(data, 'pki'),
      JUNCTION_DATABASE_URL: `sqlite:${join(data, 'junction.db')}`,
      JUNCTION_ADMIN_TOKEN: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    child.kill('SIGTERM');
    rmSync(data, { recursive: true, force: true });
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Junction commerce demo')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`demo exited with ${code}: ${out}`)));
  });
  assert.match(out, /admin token: junction-demo-admin-token/);
  const base = `http://127.0.0.1:${proxy}`;

  // 1. v1 by path is deprecated
  const v1 = await fetch(`${base}/v1/products/prd_mug`);
  assert.equal(v1.status, 200);
  assert.equal(((await v1.json()) as { price: number }).price, 12.5);
  assert.match(v1.headers.get('deprecation') ?? '', /^@\d+$/);
  assert.ok(v1.headers.get('sunset'));
  assert.match(v1.headers.get('link') ?? '', /<\/v2\/products\/prd_mug>; rel="successor-version"/);

  // 2. v2 by media type, and as XML
  const v2 = await fetch(`${base}/products/prd_mug`, {
    headers: { accept: 'application/vnd.commerce.v2+json' },
  });
  assert.deepEqual(((await v2.json()) as { price: unknown }).price, { amount: 1250, currency: 'USD' });
  const xml = await fetch(`${base}/products/prd_mug`, { headers: { accept: 'application/xml' } });
  assert.match(xml.headers.get('content-type') ?? '', /^application\/xml/);
  assert.match(await xml.text(), /<product><id>prd_mug<\/id>/);

  // 3. what the proxy adds upstream
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const seen = (await (
    await fetch(`${base}/debug/headers`, { headers: { traceparent: parent } })
  ).json()) as {
    headers: Record<string, string>;
  };
  assert.match(
    seen.headers.traceparent ?? '',
    /^00-4bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/,
  );
  assert.equal(seen.headers.via, '1.1 junction');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.match(seen.headers['x-request-id'] ?? '', /^req_/);

  // 4. problem documents, as XML when asked
  const nope = await fetch(`${base}/nope`, { headers: { accept: 'application/xml' } });
  assert.equal(nope.status, 404);
  assert.match(await nope.text(), /<problem xmlns="urn:ietf:rfc:7807">.*<code>route_not_found<\/code>/);

  // 5. metrics
  const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  assert.match(metrics, /junction_requests_total\{route="products-v1",upstream="products",status="200"\} 1/);
  assert.match(metrics, /junction_upstream_connections_opened_total\{upstream="products"\} [12]\n/);
});
