import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureDemoPki, GATEWAY_SPIFFE_ID, INVENTORY_HOST } from '../pki.ts';
import { start } from './inventory.ts';

/** Status and JSON body, or the error when the TLS handshake is refused. */
function get(
  url: string,
  options: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string },
): Promise<{ status: number; body: Record<string, unknown> } | Error> {
  return new Promise((resolve) => {
    const req = request(url, options, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', resolve);
    req.end();
  });
}

test('answers holders of a demo-CA client certificate only, and says whose it was', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'junction-inventory-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await ensureDemoPki(join(dir, 'pki'));
  const inventory = await start({
    port: 0,
    tls: { cert: pki.inventoryCertFile, key: pki.inventoryKeyFile, ca: pki.caFile },
  });
  t.after(() => inventory.close());
  assert.match(inventory.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = readFileSync(pki.caFile);
  const client = { cert: readFileSync(pki.gatewayCertFile), key: readFileSync(pki.gatewayKeyFile) };

  // servername: the name the gateway verifies (upstreams.inventory.tls.servername)
  const ok = await get(`${inventory.url}/inventory/prd_mug`, { ca, ...client, servername: INVENTORY_HOST });
  assert.ok(!(ok instanceof Error), String(ok));
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { sku: 'prd_mug', onHand: 42, warehouse: 'AMS-1', servedTo: GATEWAY_SPIFFE_ID });

  const unknown = await get(`${inventory.url}/inventory/prd_nope`, {
    ca,
    ...client,
    servername: INVENTORY_HOST,
  });
  assert.ok(!(unknown instanceof Error));
  assert.equal(unknown.status, 404);

  const anonymous = await get(`${inventory.url}/inventory/prd_mug`, { ca, servername: INVENTORY_HOST });
  assert.ok(anonymous instanceof Error, 'no client certificate, no answer');
});
