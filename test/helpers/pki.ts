/**
 * A throwaway PKI for TLS tests: certificate authorities, server and client certificates made
 * in-process with @peculiar/x509 on WebCrypto (ECDSA P-256, SHA-256), written as PEM files to a temp
 * dir that `t.after` removes. Profiles follow RFC 5280 §4.2.1 (basic constraints, key usage, extended
 * key usage, SAN) and the SPIFFE X.509-SVID spec §4 (one URI SAN, `digitalSignature`, not a CA).
 *
 * @example
 * const pki = await createPki(t);
 * const ca = await pki.ca('clients');
 * const billing = await pki.client(ca, { spiffe: 'spiffe://acme.test/ns/billing' });
 * // billing.certFile, billing.keyFile, billing.cert (PEM), billing.key (PEM)
 */
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { installReflectMetadata } from '../../examples/commerce/reflect-metadata.ts';

installReflectMetadata();
// After the shim: the library's DI container (tsyringe) checks for it when it loads.
const x509: typeof import('@peculiar/x509') = await import('@peculiar/x509');
type X509Certificate = import('@peculiar/x509').X509Certificate;
type JsonGeneralName = import('@peculiar/x509').JsonGeneralName;

const crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
x509.cryptoProvider.set(crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

export interface Issued {
  /** PEM certificate (for a CA: its self-signed certificate, the bundle clients trust). */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
  certFile: string;
  keyFile: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex as Node reports it. */
  fingerprint256: string;
}

export interface Authority extends Issued {
  name: string;
  signingKey: CryptoKey;
  certificate: X509Certificate;
}

export interface LeafOptions {
  /** Subject common name; defaults to the first name given. */
  cn?: string;
  dns?: string[];
  ips?: string[];
  /** SPIFFE id as the (single) URI SAN. */
  spiffe?: string;
  /** Further URI SANs (a second SPIFFE id makes the certificate no valid SVID). */
  uris?: string[];
  notBefore?: Date;
  notAfter?: Date;
}

export interface Pki {
  dir: string;
  ca(name: string): Promise<Authority>;
  /** Server certificate for 127.0.0.1 and localhost unless `dns`/`ips` say otherwise. */
  server(ca: Authority, options?: LeafOptions): Promise<Issued>;
  /** Client certificate (`clientAuth`), typically with a SPIFFE id. */
  client(ca: Authority, options?: LeafOptions): Promise<Issued>;
  /** Writes text to a file in the PKI's dir and returns its path (bundles, broken PEMs). */
  file(name: string, text: string): string;
}

export async function createPki(t: TestContext): Promise<Pki> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let serial = 1;
  const nextSerial = () => (serial++).toString(16).padStart(2, '0');
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const save = async (name: string, cert: X509Certificate, key: CryptoKey): Promise<Issued> => {
    const pem = cert.toString('pem');
    const pkcs8 = await crypto.subtle.exportKey('pkcs8', key);
    const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
    const thumb = Buffer.from(await cert.getThumbprint('SHA-256', crypto));
    return {
      cert: pem,
      key: keyPem,
      certFile: file(`${name}.crt`, pem),
      keyFile: file(`${name}.key`, keyPem),
      fingerprint256: [...thumb].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':'),
    };
  };

  const leaf = async (ca: Authority, kind: 'server' | 'client', options: LeafOptions): Promise<Issued> => {
    const dns = options.dns ?? (kind === 'server' ? ['localhost'] : []);
    const ips = options.ips ?? (kind === 'server' ? ['127.0.0.1'] : []);
    const uris = [...(options.spiffe ? [options.spiffe] : []), ...(options.uris ?? [])];
    const names: JsonGeneralName[] = [
      ...dns.map((value) => ({ type: 'dns' as const, value })),
      ...ips.map((value) => ({ type: 'ip' as const, value })),
      ...uris.map((value) => ({ type: 'url' as const, value })),
    ];
    const cn = options.cn ?? dns[0] ?? options.spiffe ?? ips[0] ?? kind;
    const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject: `CN=${cn}, O=Junction Tests`,
      issuer: ca.certificate.subject,
      notBefore: options.notBefore ?? new Date(now - DAY_MS),
      notAfter: options.notAfter ?? new Date(now + 30 * DAY_MS),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: ca.signingKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
          true,
        ),
        new x509.ExtendedKeyUsageExtension(
          [kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
          false,
        ),
        new x509.SubjectAlternativeNameExtension(names, false),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return save(`${kind}-${serial}`, cert, keys.privateKey);
  };

  return {
    dir,
    file,
    async ca(name) {
      const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      const now = Date.now();
      const certificate = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: nextSerial(),
        name: `CN=${name} CA, O=Junction Tests`,
        notBefore: new Date(now - DAY_MS),
        notAfter: new Date(now + 365 * DAY_MS),
        signingAlgorithm: ALG,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      const issued = await save(`ca-${name}`, certificate, keys.privateKey);
      return { ...issued, name, signingKey: keys.privateKey, certificate };
    },
    server: (ca, options = {}) => leaf(ca, 'server', options),
    client: (ca, options = {}) => leaf(ca, 'client', options),
  };
}
