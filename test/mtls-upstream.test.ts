/**
 * Q15, mutual TLS from the gateway to an upstream (`upstreams.<name>.tls`): the gateway trusts the
 * upstream's private CA, presents its own client certificate, verifies the name it was told to, and
 * picks up a rotated client certificate on reload.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { startTestGateway } from './helpers/gateway.ts';
import { type Authority, createPki, type Issued } from './helpers/pki.ts';

const GATEWAY_ID = 'spiffe://acme.test/ns/edge/sa/junction';

interface Seen {
  authorized: boolean;
  spiffe: string | undefined;
  fingerprint256: string | undefined;
}

/** An HTTPS upstream that requires a client certificate from `clientCa` and echoes who presented it. */
async function startMtlsUpstream(t: TestContext, cert: Issued, clientCa: Authority) {
  const seen: Seen[] = [];
  const server = createServer(
    { cert: cert.cert, key: cert.key, ca: clientCa.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const entry = {
        authorized: socket.authorized,
        spiffe: /URI:(spiffe:\/\/[^,\s]+)/.exec(peer.subjectaltname ?? '')?.[1],
        fingerprint256: peer.fingerprint256,
      };
      seen.push(entry);
      const body = JSON.stringify(entry);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
  );
  // A handshake the upstream refuses is the point of some tests, not a failure of the server.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function setup(t: TestContext, serverNames?: { dns: string[]; ips: string[] }) {
  const pki = await createPki(t);
  const upstreamCa = await pki.ca('upstreams');
  const meshCa = await pki.ca('mesh');
  const serverCert = await pki.server(upstreamCa, serverNames);
  const gatewayCert = await pki.client(meshCa, { spiffe: GATEWAY_ID });
  const upstream = await startMtlsUpstream(t, serverCert, meshCa);
  return { pki, upstreamCa, meshCa, gatewayCert, upstream };
}

async function gatewayTo(t: TestContext, url: string, tls: Record<string, unknown>) {
  return startTestGateway(t, {
    upstreams: { billing: { targets: [url], tls } },
    routes: [{ name: 'billing', match: { path: '/billing/*' }, proxy: { upstream: 'billing' } }],
  });
}

async function call(url: string) {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('the gateway presents its client certificate to an upstream that requires one; the upstream sees its SPIFFE id', async (t) => {
  const s = await setup(t);
  const gw = await gatewayTo(t, s.upstream.url, {
    ca: s.upstreamCa.certFile,
    cert: s.gatewayCert.certFile,
    key: s.gatewayCert.keyFile,
  });
  const res = await call(gw.url('/billing/invoices'));
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    authorized: true,
    spiffe: GATEWAY_ID,
    fingerprint256: s.gatewayCert.fingerprint256,
  });
});

test('without a client certificate configured, the upstream refuses the connection and the client gets 502', async (t) => {
  const s = await setup(t);
  const gw = await gatewayTo(t, s.upstream.url, { ca: s.upstreamCa.certFile });
  const res = await call(gw.url('/billing/invoices'));
  assert.equal(res.status, 502);
  assert.equal(res.body.upstream, 'billing');
  assert.equal(s.upstream.seen.length, 0);
});

test('an upstream whose certificate the gateway does not trust gets no request: 502', async (t) => {
  const s = await setup(t);
  // The mesh CA issued the gateway's certificate, not the upstream's.
  const gw = await gatewayTo(t, s.upstream.url, {
    ca: s.meshCa.certFile,
    cert: s.gatewayCert.certFile,
    key: s.gatewayCert.keyFile,
  });
  assert.equal((await call(gw.url('/billing/x'))).status, 502);
  assert.equal(s.upstream.seen.length, 0);
});

test('servername sets the name the upstream certificate is checked against', async (t) => {
  const s = await setup(t, { dns: ['billing.internal'], ips: [] });
  const tls = { ca: s.upstreamCa.certFile, cert: s.gatewayCert.certFile, key: s.gatewayCert.keyFile };
  const without = await gatewayTo(t, s.upstream.url, tls);
  // The certificate names billing.internal, not 127.0.0.1 (RFC 9110 §4.3.4).
  assert.equal((await call(without.url('/billing/x'))).status, 502);
  const named = await gatewayTo(t, s.upstream.url, { ...tls, servername: 'billing.internal' });
  assert.equal((await call(named.url('/billing/x'))).status, 200);
});

test('a reload picks up a rotated client certificate: new connections present it', async (t) => {
  const s = await setup(t);
  const gw = await gatewayTo(t, s.upstream.url, {
    ca: s.upstreamCa.certFile,
    cert: s.gatewayCert.certFile,
    key: s.gatewayCert.keyFile,
  });
  assert.equal((await call(gw.url('/billing/x'))).body.fingerprint256, s.gatewayCert.fingerprint256);
  const rotated = await s.pki.client(s.meshCa, { spiffe: GATEWAY_ID });
  copyFileSync(rotated.certFile, s.gatewayCert.certFile);
  copyFileSync(rotated.keyFile, s.gatewayCert.keyFile);
  assert.equal((await gw.gateway.reload('test')).status, 'applied');
  assert.equal((await call(gw.url('/billing/x'))).body.fingerprint256, rotated.fingerprint256);
});

test('active health checks of an mTLS upstream pass the same handshake as requests', async (t) => {
  const s = await setup(t);
  const gw = await startTestGateway(t, {
    upstreams: {
      billing: {
        targets: [s.upstream.url],
        tls: { ca: s.upstreamCa.certFile, cert: s.gatewayCert.certFile, key: s.gatewayCert.keyFile },
        healthCheck: { path: '/health', intervalMs: 20, unhealthyThreshold: 1, healthyThreshold: 1 },
      },
    },
    routes: [{ name: 'billing', match: { path: '/billing/*' }, proxy: { upstream: 'billing' } }],
  });
  // Wait for several checks: with a probe that cannot complete the handshake, one would already
  // have taken the only target out of rotation.
  const until = Date.now() + 10_000;
  while (s.upstream.seen.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const targets = (await (await fetch(gw.adminUrl('/admin/v1/upstreams'), { headers: gw.auth })).json()) as {
    data: { name: string; targets: { healthy: boolean }[] }[];
  };
  assert.deepEqual(
    targets.data.find((u) => u.name === 'billing')?.targets.map((x) => x.healthy),
    [true],
  );
  assert.equal((await call(gw.url('/billing/invoices'))).status, 200);
});
