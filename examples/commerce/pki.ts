/**
 * The commerce demo's private PKI (Q15), made on this machine and never downloaded: one demo CA that
 * issues the inventory service's server certificate and the gateway's client certificate. The CA's
 * private key is thrown away once both are issued, so nothing else can ever be signed by it.
 *
 * `npm install` runs this (postinstall) and `npm start` runs it again when a file is missing or a
 * certificate is about to expire: `junction validate -c examples/commerce/junction.yaml` reads the
 * files the config names (src/ingress/tls.ts), so they have to exist before the demo ever started.
 * The directory is DEMO_PKI_DIR, else `examples/commerce/.pki` (gitignored).
 *
 * Certificates are ECDSA P-256 / SHA-256 with RFC 5280 §4.2.1 profiles, made with @peculiar/x509 on
 * WebCrypto, as test/helpers/pki.ts makes the tests' certificates.
 */
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installReflectMetadata } from './reflect-metadata.ts';

/** The identity the gateway presents to the inventory service (SPIFFE X.509-SVID: one URI SAN). */
export const GATEWAY_SPIFFE_ID = 'spiffe://commerce.demo/junction-gateway';
/** The name the gateway verifies on the inventory service's certificate (`upstreams.inventory.tls.servername`). */
export const INVENTORY_HOST = 'inventory.commerce.internal';

export interface DemoPki {
  dir: string;
  /** The demo CA's certificate: both sides trust it. */
  caFile: string;
  inventoryCertFile: string;
  inventoryKeyFile: string;
  gatewayCertFile: string;
  gatewayKeyFile: string;
  /** False when the files were there and good for another `RENEW_BEFORE_MS`. */
  created: boolean;
}

const DAY_MS = 86_400_000;
const VALID_MS = 365 * DAY_MS;
const RENEW_BEFORE_MS = 30 * DAY_MS;
const FILES = ['ca.crt', 'inventory.crt', 'inventory.key', 'gateway.crt', 'gateway.key'] as const;

export function defaultPkiDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DEMO_PKI_DIR || fileURLToPath(new URL('./.pki', import.meta.url)));
}

function paths(dir: string, created: boolean): DemoPki {
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    inventoryCertFile: join(dir, 'inventory.crt'),
    inventoryKeyFile: join(dir, 'inventory.key'),
    gatewayCertFile: join(dir, 'gateway.crt'),
    gatewayKeyFile: join(dir, 'gateway.key'),
    created,
  };
}

function usable(dir: string, now: number): boolean {
  try {
    return FILES.every((f) => {
      const text = readFileSync(join(dir, f));
      if (!f.endsWith('.crt')) return text.includes('-----BEGIN PRIVATE KEY-----');
      return Date.parse(new X509Certificate(text).validTo) - now > RENEW_BEFORE_MS;
    });
  } catch {
    return false; // missing, unreadable or not a certificate: make a new set
  }
}

/**
 * The demo PKI in `dir`, made (or remade) when a file is missing or a certificate expires within 30
 * days. Written to a sibling directory first and renamed into place, so a concurrent start never
 * sees half a set, and two first starts at once end up using the same one.
 * @example
 * const pki = await ensureDemoPki(); // pki.gatewayCertFile, pki.caFile, …
 */
export async function ensureDemoPki(dir = defaultPkiDir()): Promise<DemoPki> {
  const now = Date.now();
  if (usable(dir, now)) return paths(dir, false);
  const staging = `${dir}.${process.pid}-${now}.tmp`;
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  try {
    for (const [name, text] of Object.entries(await issue(now))) {
      writeFileSync(join(staging, name), text, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
    }
    mkdirSync(dirname(dir), { recursive: true });
    try {
      renameSync(staging, dir); // no set yet: the usual first start
    } catch {
      if (usable(dir, now)) return paths(dir, false); // another process was quicker
      rmSync(dir, { recursive: true, force: true }); // an old or broken set
      renameSync(staging, dir);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return paths(dir, true);
}

async function issue(now: number): Promise<Record<(typeof FILES)[number], string>> {
  installReflectMetadata();
  // After the shim: the library's DI container (tsyringe) looks for it when it loads.
  const x509 = await import('@peculiar/x509');
  const crypto = webcrypto;
  x509.cryptoProvider.set(crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keyPair = () => crypto.subtle.generateKey(alg, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
  const pemKey = async (key: CryptoKey) =>
    x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
  const notBefore = new Date(now - 3_600_000); // an hour of slack for clocks that lag
  const notAfter = new Date(now + VALID_MS);

  const caKeys = await keyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Junction commerce demo CA, O=Junction demo',
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leaf = async (
    serial: string,
    cn: string,
    usage: string,
    names: { type: string; value: string }[],
  ) => {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${cn}, O=Junction demo`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      signingAlgorithm: alg,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage], false),
        new x509.SubjectAlternativeNameExtension(names as import('@peculiar/x509').JsonGeneralName[], false),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) };
  };

  const inventory = await leaf('02', INVENTORY_HOST, x509.ExtendedKeyUsage.serverAuth, [
    { type: 'dns', value: INVENTORY_HOST },
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
  ]);
  const gateway = await leaf('03', 'junction-gateway', x509.ExtendedKeyUsage.clientAuth, [
    { type: 'url', value: GATEWAY_SPIFFE_ID },
  ]);
  return {
    'ca.crt': ca.toString('pem'),
    'inventory.crt': inventory.cert,
    'inventory.key': inventory.key,
    'gateway.crt': gateway.cert,
    'gateway.key': gateway.key,
  };
}

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

if (import.meta.main) {
  // As `npm install`'s postinstall: without the dev dependencies (npm install --omit=dev) there is no
  // demo to run, so there is nothing to make, and an install must not fail over a demo.
  try {
    const pki = await ensureDemoPki();
    process.stdout.write(`demo PKI ${pki.created ? 'created' : 'up to date'} in ${pki.dir}\n`);
  } catch (err) {
    process.stderr.write(`demo PKI not made (${(err as Error).message}); npm start makes it\n`);
  }
}
