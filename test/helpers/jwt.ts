/**
 * JWT test kit: key pairs from jose, tokens signed with them, an unsecured (`alg: none`) token, and
 * a JWKS served from a real local server on port 0 that counts its hits; closed by `t.after`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose';

export interface TestKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK with kid, alg and use. */
  jwk: JWK;
  /** Public key, SPKI PEM. */
  pem: string;
}

export async function testKey(alg = 'RS256', kid = `k-${alg.toLowerCase()}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, jwk, pem: await exportSPKI(publicKey) };
}

export const ISSUER = 'https://id.test.example';
export const AUDIENCE = 'junction-tests';

export interface SignOptions {
  /** Header overrides; `kid: undefined` leaves it out. */
  header?: Record<string, unknown>;
  /** Seconds relative to now, or absolute when `absolute`. */
  expiresInS?: number;
  notBeforeInS?: number;
  nowS?: number;
}

/** A token with iss, aud, sub, iat and exp (in 5 minutes) unless `claims` override them. */
export function sign(
  key: { alg: string; kid?: string; privateKey: CryptoKey | Uint8Array },
  claims: JWTPayload = {},
  opts: SignOptions = {},
): Promise<string> {
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  const payload: JWTPayload = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    iat: now,
    exp: now + (opts.expiresInS ?? 300),
    ...(opts.notBeforeInS === undefined ? {} : { nbf: now + opts.notBeforeInS }),
    ...claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...opts.header } as { alg: string })
    .sign(key.privateKey);
}

/** RFC 7519 §6.1 unsecured JWT: `alg: none` and an empty signature. */
export function unsecured(claims: JWTPayload): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', exp: now + 300, ...claims })}.`;
}

export interface TestJwks {
  url: string;
  /** Requests the JWKS endpoint has answered. */
  hits(): number;
  /** Replaces the served keys (rotation). */
  serve(keys: JWK[]): void;
}

export async function startJwks(t: TestContext, keys: JWK[]): Promise<TestJwks> {
  let served = keys;
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    const body = JSON.stringify({ keys: served });
    res.writeHead(200, {
      'content-type': 'application/jwk-set+json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    hits: () => hits,
    serve: (k) => {
      served = k;
    },
  };
}
