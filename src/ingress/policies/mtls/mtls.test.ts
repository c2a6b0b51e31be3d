import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import type { AuditEntry } from '../../../core/audit.ts';
import { isJunctionError } from '../../../core/errors.ts';
import type { RequestContext } from '../../../core/policy.ts';
import type { Services } from '../../../core/services.ts';
import { type MtlsConfig, mtlsPolicy } from './index.ts';

const FINGERPRINT = 'AB:CD';

/** A TLS socket as Node presents a verified (or not) client certificate. */
function socket(names: string, options: { cn?: string; authorized?: boolean; cert?: boolean } = {}) {
  const cert =
    options.cert === false
      ? {}
      : {
          raw: Buffer.from('der'),
          subject: { CN: options.cn ?? 'client', O: 'Acme' },
          issuer: { CN: 'Acme Clients CA' },
          subjectaltname: names,
          fingerprint256: FINGERPRINT,
          serialNumber: '0A',
          valid_to: 'Jan  1 00:00:00 2031 GMT',
        };
  return {
    encrypted: true,
    authorized: options.authorized ?? true,
    authorizationError: options.authorized === false ? 'CERT_HAS_EXPIRED' : null,
    getPeerCertificate: () => cert,
  };
}

function ctxFor(sock: object): RequestContext {
  return {
    id: 'req_1',
    req: { socket: sock } as unknown as IncomingMessage,
    clientIp: '10.0.0.9',
    upstreamHeaders: {},
    slots: {},
  } as unknown as RequestContext;
}

function policy(config: Partial<MtlsConfig>) {
  const audit: AuditEntry[] = [];
  const services = {
    audit: { record: (e: AuditEntry) => audit.push(e), flush: async () => {} },
  } as unknown as Services;
  const full: MtlsConfig = {
    allow: {},
    forward: { header: 'x-junction-client-cert-id' },
    roles: {},
    ...config,
  };
  return { p: mtlsPolicy(full, { routeName: 'r', services }), audit };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isJunctionError(err));
    return `${err.status} ${err.code}`;
  }
  assert.fail('expected a refusal');
}

test('a verified SVID becomes the principal, with roles from every matching pattern, and goes upstream', () => {
  const { p } = policy({
    allow: { spiffe: ['spiffe://acme.test/ns/billing/*'] },
    roles: {
      'spiffe://acme.test/ns/billing/*': ['billing', 'reader'],
      'spiffe://acme.test/ns/billing/sa/api': ['writer'],
      '*.svc.internal': ['mesh'],
      'spiffe://acme.test/ns/other/*': ['other'],
    },
  });
  const ctx = ctxFor(socket('DNS:api.svc.internal, URI:spiffe://acme.test/ns/billing/sa/api'));
  assert.equal(p.onRequest!(ctx), undefined);
  assert.equal(ctx.upstreamHeaders['x-junction-client-cert-id'], 'spiffe://acme.test/ns/billing/sa/api');
  assert.deepEqual(ctx.slots.principal, {
    kind: 'mtls',
    id: 'spiffe://acme.test/ns/billing/sa/api',
    roles: ['billing', 'reader', 'writer', 'mesh'],
    scopes: [],
    attributes: {
      subject: 'CN=client, O=Acme',
      issuer: 'CN=Acme Clients CA',
      commonName: 'client',
      spiffeId: 'spiffe://acme.test/ns/billing/sa/api',
      sans: { dns: ['api.svc.internal'], uri: ['spiffe://acme.test/ns/billing/sa/api'], ip: [], email: [] },
      fingerprint256: FINGERPRINT,
      serialNumber: '0A',
      validTo: 'Jan  1 00:00:00 2031 GMT',
    },
  });
});

test('without a SPIFFE id the principal is the first SAN, else the CN; allow lists take SANs and subjects', () => {
  const { p } = policy({ allow: { sans: ['*.svc.internal'], subjects: ['legacy-batch'] } });
  const bySan = ctxFor(socket('DNS:api.svc.internal, IP Address:10.1.1.1'));
  p.onRequest!(bySan);
  assert.equal(bySan.slots.principal?.id, 'api.svc.internal');
  const byCn = ctxFor(socket('', { cn: 'legacy-batch' }));
  p.onRequest!(byCn);
  assert.equal(byCn.slots.principal?.id, 'legacy-batch');
  assert.equal(byCn.upstreamHeaders['x-junction-client-cert-id'], 'legacy-batch');
  assert.equal(
    refusal(() => p.onRequest!(ctxFor(socket('DNS:api.other.internal')))),
    '403 client_cert_forbidden',
  );
});

test('with no allow list every verified certificate passes; a principal set earlier is kept', () => {
  const { p } = policy({});
  const ctx = ctxFor(socket('URI:spiffe://acme.test/anything'));
  const earlier = { kind: 'jwt' as const, id: 'user-1', roles: [], scopes: [], attributes: {} };
  ctx.slots.principal = earlier;
  p.onRequest!(ctx);
  assert.equal(ctx.slots.principal, earlier);
  assert.equal(ctx.upstreamHeaders['x-junction-client-cert-id'], 'spiffe://acme.test/anything');
});

test('no certificate, an unverified one, or plain HTTP is 401; the audit log says which', () => {
  const { p, audit } = policy({});
  assert.equal(
    refusal(() => p.onRequest!(ctxFor(socket('', { cert: false })))),
    '401 client_cert_required',
  );
  assert.equal(
    refusal(() => p.onRequest!(ctxFor(socket('URI:spiffe://acme.test/a', { authorized: false })))),
    '401 client_cert_required',
  );
  assert.equal(
    refusal(() => p.onRequest!(ctxFor({ encrypted: undefined }))),
    '401 client_cert_required',
  );
  assert.deepEqual(
    audit.map((e) => [e.reason, e.actor, e.resource, e.requestId, e.clientIp]),
    [
      ['client_cert_required:none', undefined, 'route:r', 'req_1', '10.0.0.9'],
      ['client_cert_untrusted:CERT_HAS_EXPIRED', undefined, 'route:r', 'req_1', '10.0.0.9'],
      ['client_cert_required:plaintext', undefined, 'route:r', 'req_1', '10.0.0.9'],
    ],
  );
});

test('the peer is read once per connection, not per request', () => {
  const { p } = policy({});
  const sock = socket('URI:spiffe://acme.test/a');
  let reads = 0;
  const counting = {
    ...sock,
    getPeerCertificate: () => {
      reads++;
      return sock.getPeerCertificate();
    },
  };
  for (let i = 0; i < 3; i++) p.onRequest!(ctxFor(counting));
  assert.equal(reads, 1);
});
