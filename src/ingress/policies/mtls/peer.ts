/**
 * Who is at the other end of a TLS connection, from the certificate the listener verified during
 * the handshake (RFC 8446 §4.4.2; chain checks per RFC 5280 §6 are OpenSSL's). Read once per
 * connection: every request on a keep-alive connection has the same peer.
 */
import type { Certificate, TLSSocket } from 'node:tls';
import { spiffeIdOf } from './names.ts';
import { parseSubjectAltName, type SubjectAltNames } from './san.ts';

export interface PeerIdentity {
  /** The SPIFFE id, else the first SAN, else the subject CN, else `sha256:<fingerprint>`. */
  id: string;
  spiffeId: string | undefined;
  commonName: string | undefined;
  /** The subject as `CN=…, O=…` (RFC 4514 attribute names, certificate order). */
  subject: string;
  issuer: string;
  sans: Omit<SubjectAltNames, 'all'>;
  /** Every name the allow lists and role mappings are matched against. */
  names: string[];
  fingerprint256: string;
  serialNumber: string;
  validTo: string;
}

/** What a connection offers: not TLS, TLS without a certificate, one not verified, or a verified peer. */
export type Peer =
  | { state: 'plaintext' }
  | { state: 'none' }
  | { state: 'untrusted'; reason: string; identity: PeerIdentity }
  | { state: 'verified'; identity: PeerIdentity };

const PLAINTEXT: Peer = { state: 'plaintext' };
const NONE: Peer = { state: 'none' };
const seen = new WeakMap<object, Peer>();

/**
 * @example
 * const peer = peerOf(ctx.req.socket);
 * if (peer.state === 'verified') console.log(peer.identity.spiffeId);
 */
export function peerOf(socket: object): Peer {
  let peer = seen.get(socket);
  if (peer === undefined) {
    peer = readPeer(socket as Partial<TLSSocket>);
    seen.set(socket, peer);
  }
  return peer;
}

function readPeer(socket: Partial<TLSSocket>): Peer {
  if (socket.encrypted !== true || typeof socket.getPeerCertificate !== 'function') return PLAINTEXT;
  const cert = socket.getPeerCertificate(false);
  // Node returns an empty object, not null, when the client sent no certificate.
  if (cert === null || cert === undefined || cert.raw === undefined) return NONE;
  const sans = parseSubjectAltName(cert.subjectaltname);
  const cn = first(cert.subject?.CN);
  const spiffeId = spiffeIdOf(sans.uri);
  const fingerprint256 = cert.fingerprint256;
  const identity: PeerIdentity = {
    id: spiffeId ?? sans.all[0] ?? cn ?? `sha256:${fingerprint256}`,
    spiffeId,
    commonName: cn,
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    sans: { dns: sans.dns, uri: sans.uri, ip: sans.ip, email: sans.email },
    names: cn === undefined ? sans.all : [...sans.all, cn],
    fingerprint256,
    serialNumber: cert.serialNumber,
    validTo: cert.valid_to,
  };
  if (socket.authorized === true) return { state: 'verified', identity };
  return { state: 'untrusted', reason: String(socket.authorizationError ?? 'unverified'), identity };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function distinguishedName(name: Certificate | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .flatMap(([k, v]: [string, string | string[] | undefined]) =>
      v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`),
    )
    .join(', ');
}
