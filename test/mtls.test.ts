/**
 * Q15, mutual TLS end to end: the proxy listener over HTTPS asking for client certificates, the
 * `auth.mtls` policy allowing SPIFFE ids and forwarding the verified identity, handshake refusals,
 * and mTLS from the gateway to an upstream. Certificates come from test/helpers/pki.ts.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { startGateway } from '../src/cli/gateway.ts';
import type { AuditEntry } from '../src/core/audit.ts';
import { isJunctionError } from '../src/core/errors.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway, withTestDefaults } from './helpers/gateway.ts';
import { type Authority, createPki, type Issued, type Pki } from './helpers/pki.ts';
import { startUpstream, type TestUpstream } from './helpers/upstream.ts';

const BILLING = 'spiffe://acme.test/ns/billing/sa/api';
const REPORTS = 'spiffe://acme.test/ns/reports/sa/batch';
const DAY_MS = 86_400_000;

interface Setup {
  pki: Pki;
  serverCa: Authority;
  clientCa: Authority;
  rogueCa: Authority;
  billing: Issued;
  reports: Issued;
  rogue: Issued;
}

async function certificates(t: TestContext): Promise<Setup> {
  const pki = await createPki(t);
  const serverCa = await pki.ca('servers');
  const clientCa = await pki.ca('clients');
  const rogueCa = await pki.ca('rogue');
  return {
    pki,
    serverCa,
    clientCa,
    rogueCa,
    billing: await pki.client(clientCa, { spiffe: BILLING }),
    reports: await pki.client(clientCa, { spiffe: REPORTS }),
    // Same SPIFFE id as billing, but from a CA the gateway does not trust.
    rogue: await pki.client(rogueCa, { spiffe: BILLING }),
  };
}

async function gatewayWithMtls(
  t: TestContext,
  s: Setup,
  tls: Record<string, unknown>,
): Promise<{ gw: TestGateway; upstream: TestUpstream; server: Issued; audit: AuditEntry[] }> {
  const upstream = await startUpstream(t);
  const server = await s.pki.server(s.serverCa);
  const gw = await startTestGateway(t, {
    listeners: {
      proxy: { host: '127.0.0.1', port: 0, tls: { cert: server.certFile, key: server.keyFile, ...tls } },
      admin: { host: '127.0.0.1', port: 0 },
    },
    admin: { token: ADMIN_TOKEN },
    upstreams: { app: { targets: [upstream.url] } },
    routes: [
      {
        name: 'billing-api',
        match: { path: '/billing/*' },
        proxy: { upstream: 'app' },
        policies: {
          'auth.mtls': {
            allow: { spiffe: ['spiffe://acme.test/ns/billing/*'] },
            roles: { 'spiffe://acme.test/ns/billing/*': ['billing'] },
          },
        },
      },
      { name: 'public', match: { path: '/public/*' }, proxy: { upstream: 'app' } },
    ],
  });
  const audit: AuditEntry[] = [];
  gw.gateway.services.audit = { record: (e) => audit.push(e), flush: async () => {} };
  return { gw, upstream, server, audit };
}

/** An undici dispatcher that trusts the test server CA and presents `client`, if given. */
function clientFor(t: TestContext, s: Setup, client?: Issued): Agent {
  const agent = new Agent({
    connect: { ca: s.serverCa.cert, ...(client ? { cert: client.cert, key: client.key } : {}) },
  });
  t.after(() => agent.close());
  return agent;
}

async function get(gw: TestGateway, path: string, dispatcher: Agent, headers: Record<string, string> = {}) {
  const res = await request(gw.url(path), { dispatcher, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

test('a client with a trusted certificate and an allowed SPIFFE id gets through; the upstream sees its identity', async (t) => {
  const s = await certificates(t);
  const { gw, upstream } = await gatewayWithMtls(t, s, { ca: s.clientCa.certFile });
  assert.match(gw.gateway.proxyUrl, /^https:\/\//);
  const res = await get(gw, '/billing/invoices', clientFor(t, s, s.billing), {
    // A client's own copy of the trusted header never reaches the upstream.
    'x-junction-client-cert-id': 'spiffe://acme.test/ns/admin',
  });
  assert.equal(res.status, 200);
  assert.equal(upstream.seen.length, 1);
  assert.equal(upstream.seen[0]!.headers['x-junction-client-cert-id'], BILLING);
  assert.equal(upstream.seen[0]!.headers['x-forwarded-proto'], 'https');
});

test('a trusted certificate whose SPIFFE id is not allowed gets 403 client_cert_forbidden, audited', async (t) => {
  const s = await certificates(t);
  const { gw, upstream, audit } = await gatewayWithMtls(t, s, { ca: s.clientCa.certFile });
  const res = await get(gw, '/billing/invoices', clientFor(t, s, s.reports));
  assert.equal(res.status, 403);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(JSON.parse(res.text).code, 'client_cert_forbidden');
  assert.equal(upstream.seen.length, 0);
  assert.deepEqual(
    audit.map(({ action, outcome, actor, resource, reason }) => ({
      action,
      outcome,
      actor,
      resource,
      reason,
    })),
    [
      {
        action: 'auth.deny',
        outcome: 'deny',
        actor: { kind: 'mtls', id: REPORTS },
        resource: 'route:billing-api',
        reason: 'client_cert_forbidden',
      },
    ],
  );
  // A route without the policy takes the same certificate.
  assert.equal((await get(gw, '/public/x', clientFor(t, s, s.reports))).status, 200);
});

test('with a client CA, a client without a certificate is refused during the handshake', async (t) => {
  const s = await certificates(t);
  const { gw, upstream, audit } = await gatewayWithMtls(t, s, { ca: s.clientCa.certFile });
  await assert.rejects(get(gw, '/public/x', clientFor(t, s)), (err: NodeJS.ErrnoException) => {
    // TLS 1.3: the server's certificate_required alert (RFC 8446 §4.4.2.4), or the reset after it.
    assert.match(String(err.code), /CERTIFICATE_REQUIRED|ECONNRESET|UND_ERR_SOCKET/);
    return true;
  });
  assert.equal(upstream.seen.length, 0);
  await waitFor(() => audit.length > 0);
  assert.equal(audit[0]!.resource, 'listener:proxy');
  assert.equal(audit[0]!.reason, 'client_cert_required:none');
});

test('a certificate from a CA the listener does not trust is refused during the handshake', async (t) => {
  const s = await certificates(t);
  const { gw, upstream, audit } = await gatewayWithMtls(t, s, { ca: s.clientCa.certFile });
  await assert.rejects(get(gw, '/billing/x', clientFor(t, s, s.rogue)), (err: NodeJS.ErrnoException) => {
    assert.match(String(err.code), /ALERT|ECONNRESET|UND_ERR_SOCKET/);
    return true;
  });
  assert.equal(upstream.seen.length, 0);
  await waitFor(() => audit.length > 0);
  assert.equal(audit[0]!.reason, 'client_cert_untrusted:UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('an expired certificate from the trusted CA is refused during the handshake', async (t) => {
  const s = await certificates(t);
  const { gw, upstream, audit } = await gatewayWithMtls(t, s, { ca: s.clientCa.certFile });
  const expired = await s.pki.client(s.clientCa, {
    spiffe: BILLING,
    notBefore: new Date(Date.now() - 10 * DAY_MS),
    notAfter: new Date(Date.now() - DAY_MS),
  });
  await assert.rejects(get(gw, '/billing/x', clientFor(t, s, expired)));
  assert.equal(upstream.seen.length, 0);
  await waitFor(() => audit.length > 0);
  assert.equal(audit[0]!.reason, 'client_cert_untrusted:CERT_HAS_EXPIRED');
});

test('with rejectUnauthorized false the handshake succeeds and auth.mtls answers 401 client_cert_required', async (t) => {
  const s = await certificates(t);
  const { gw, upstream, audit } = await gatewayWithMtls(t, s, {
    ca: s.clientCa.certFile,
    rejectUnauthorized: false,
  });
  const none = await get(gw, '/billing/x', clientFor(t, s));
  assert.equal(none.status, 401);
  assert.equal(JSON.parse(none.text).code, 'client_cert_required');
  const rogue = await get(gw, '/billing/x', clientFor(t, s, s.rogue));
  assert.equal(rogue.status, 401);
  assert.equal(JSON.parse(rogue.text).code, 'client_cert_required');
  assert.equal(upstream.seen.length, 0);
  // The answer says only "not trusted"; the audit log says why, and names no actor.
  assert.deepEqual(
    audit.map((e) => [e.reason, e.actor]),
    [
      ['client_cert_required:none', undefined],
      ['client_cert_untrusted:UNABLE_TO_VERIFY_LEAF_SIGNATURE', undefined],
    ],
  );
  // Routes without the policy serve clients without certificates on the same listener.
  assert.equal((await get(gw, '/public/x', clientFor(t, s))).status, 200);
  assert.equal((await get(gw, '/billing/x', clientFor(t, s, s.billing))).status, 200);
});

test('auth.mtls on a plain HTTP listener answers 401: there is no certificate to read', async (t) => {
  const upstream = await startUpstream(t);
  const gw = await startTestGateway(t, {
    upstreams: { app: { targets: [upstream.url] } },
    routes: [{ name: 'r', match: { path: '/*' }, proxy: { upstream: 'app' }, policies: { 'auth.mtls': {} } }],
  });
  const res = await fetch(gw.url('/x'));
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'client_cert_required');
});

test('a config reload serves a rotated server certificate to new connections', async (t) => {
  const s = await certificates(t);
  const { gw, server } = await gatewayWithMtls(t, s, { ca: s.clientCa.certFile });
  const { hostname, port } = new URL(gw.gateway.proxyUrl);
  const served = () =>
    new Promise<string>((resolve, reject) => {
      const options = {
        host: hostname,
        port: Number(port),
        ca: s.serverCa.cert,
        cert: s.billing.cert,
        key: s.billing.key,
      };
      const socket = connect(options, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
    });
  assert.equal(await served(), server.fingerprint256);
  const rotated = await s.pki.server(s.serverCa);
  copyFileSync(rotated.certFile, server.certFile);
  copyFileSync(rotated.keyFile, server.keyFile);
  assert.equal((await gw.gateway.reload('test')).status, 'applied');
  assert.equal(await served(), rotated.fingerprint256);
});

test('a listener certificate file that is missing stops the start with a config error naming it', async (t) => {
  const s = await certificates(t);
  const dir = mkdtempSync(join(tmpdir(), 'junction-mtls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'junction.yaml');
  const missing = join(dir, 'missing.crt');
  const config = withTestDefaults(
    {
      listeners: {
        proxy: {
          host: '127.0.0.1',
          port: 0,
          tls: { cert: missing, key: s.billing.keyFile, ca: s.clientCa.certFile },
        },
        admin: { host: '127.0.0.1', port: 0 },
      },
    },
    dir,
  );
  writeFileSync(configFile, stringify(config));
  const env = { ...process.env, JUNCTION_ADMIN_TOKEN: '', JUNCTION_DATABASE_URL: '' };
  await assert.rejects(startGateway({ configFile, env, logDestination: new PassThrough() }), (err: Error) => {
    assert.ok(isJunctionError(err));
    assert.equal(err.code, 'config_invalid');
    assert.ok(
      err.message.includes(`/listeners/proxy/tls/cert  cannot read ${missing} (ENOENT)`),
      err.message,
    );
    return true;
  });
});

async function waitFor(check: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
