import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureDemoPki, GATEWAY_SPIFFE_ID, INVENTORY_HOST } from './pki.ts';

test('makes a CA, a server and a client certificate once, and remakes the set when a file is missing', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'junction-demo-pki-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'pki');
  const first = await ensureDemoPki(dir);
  assert.equal(first.created, true);
  const ca = new X509Certificate(readFileSync(first.caFile));
  const server = new X509Certificate(readFileSync(first.inventoryCertFile));
  const client = new X509Certificate(readFileSync(first.gatewayCertFile));
  assert.ok(ca.ca);
  assert.ok(server.verify(ca.publicKey) && client.verify(ca.publicKey), 'both issued by the demo CA');
  assert.ok(server.checkHost(INVENTORY_HOST) && server.checkIP('127.0.0.1'));
  assert.equal(client.subjectAltName, `URI:${GATEWAY_SPIFFE_ID}`);
  assert.ok(Date.parse(client.validTo) - Date.now() > 300 * 86_400_000);
  assert.equal(statSync(first.gatewayKeyFile).mode & 0o077, 0, 'keys are readable by their owner only');

  const again = await ensureDemoPki(dir);
  assert.equal(again.created, false);
  assert.equal(readFileSync(again.caFile, 'utf8'), readFileSync(first.caFile, 'utf8'));

  rmSync(first.gatewayKeyFile);
  const remade = await ensureDemoPki(dir);
  assert.equal(remade.created, true);
  assert.notEqual(readFileSync(remade.caFile, 'utf8'), ca.toString());
  const cert = new X509Certificate(readFileSync(remade.gatewayCertFile));
  assert.ok(cert.checkPrivateKey(createPrivateKey(readFileSync(remade.gatewayKeyFile))), 'a matching key');
});
