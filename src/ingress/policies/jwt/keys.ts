/**
 * Static verification keys, imported once when the route compiles. Each key is bound to one `alg`
 * and a token is only ever checked with a key bound to the token's own `alg` (RFC 8725 §3.1, §2.1:
 * the classic HS/RS confusion signs an HS256 token with the RSA *public* key as the HMAC secret;
 * here an RS key can never serve an HS token, and an HS secret exists only when configured as
 * `secret`). Node's `KeyObject`s are what jose verifies with; importing them is synchronous, so a
 * bad key is a config error at load, not a failure on the first request.
 */
import { createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { errors, type JWTHeaderParameters } from 'jose';
import type { StaticKeyConfig } from './schema.ts';

export interface StaticKey {
  kid: string | undefined;
  alg: string;
  key: KeyObject;
}

/** The key type (and curve) each algorithm needs (RFC 7518 §3.1, RFC 8037 §3.1). */
const KEY_TYPES: Record<string, { types: string[]; curve?: string }> = {
  RS: { types: ['rsa'] },
  PS: { types: ['rsa', 'rsa-pss'] },
  ES256: { types: ['ec'], curve: 'prime256v1' },
  ES384: { types: ['ec'], curve: 'secp384r1' },
  ES512: { types: ['ec'], curve: 'secp521r1' },
  EdDSA: { types: ['ed25519', 'ed448'] },
  Ed25519: { types: ['ed25519'] },
};

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
const HMAC_MIN_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

const isHmac = (alg: string) => alg.startsWith('HS');

/** Imports one configured key; throws a message fit for a config error. */
export function importStaticKey(k: StaticKeyConfig, i: number): StaticKey {
  const at = `keys[${i}]${k.kid === undefined ? '' : ` (kid ${k.kid})`}`;
  if ('secret' in k) {
    const bytes = Buffer.from(k.secret, 'utf8');
    if (bytes.length < HMAC_MIN_BYTES[k.alg]!)
      throw new Error(`${at}: a ${k.alg} secret needs at least ${HMAC_MIN_BYTES[k.alg]} bytes`);
    return { kid: k.kid, alg: k.alg, key: createSecretKey(bytes) };
  }
  if ((k.pem === undefined) === (k.jwk === undefined))
    throw new Error(`${at}: give exactly one of pem and jwk`);
  let key: KeyObject;
  try {
    if (k.jwk !== undefined) {
      // A symmetric JWK would turn an asymmetric route into an HMAC one: only `secret` may do that.
      const jwk = k.jwk as JsonWebKey;
      if (jwk.kty === 'oct') throw new Error('a symmetric (kty oct) JWK; configure HS keys as secret');
      if (jwk.d !== undefined) throw new Error('a private JWK; give the public key');
      key = createPublicKey({ key: jwk, format: 'jwk' });
    } else {
      if (/PRIVATE KEY/.test(k.pem!)) throw new Error('a private key; give the public key');
      key = createPublicKey(k.pem!);
    }
  } catch (err) {
    throw new Error(`${at}: not a usable public key: ${(err as Error).message}`);
  }
  const alg: string = k.alg;
  const family = KEY_TYPES[alg] ?? KEY_TYPES[alg.slice(0, 2)]!;
  const type = key.asymmetricKeyType ?? 'unknown';
  if (!family.types.includes(type))
    throw new Error(`${at}: ${alg} needs a ${family.types.join('/')} key, not ${type}`);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (family.curve !== undefined && curve !== family.curve)
    throw new Error(`${at}: ${alg} needs curve ${family.curve}, not ${curve}`);
  if (type.startsWith('rsa') && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new Error(`${at}: RSA keys must have at least 2048 bits (RFC 7518 §3.3)`);
  return { kid: k.kid, alg: k.alg, key };
}

export function importStaticKeys(keys: StaticKeyConfig[], algorithms: string[]): StaticKey[] {
  const imported = keys.map(importStaticKey);
  for (const [i, k] of imported.entries()) {
    if (!algorithms.includes(k.alg)) throw new Error(`keys[${i}]: ${k.alg} is not in algorithms`);
  }
  for (const alg of algorithms) {
    if (!imported.some((k) => k.alg === alg)) throw new Error(`algorithms: no key for ${alg}`);
  }
  return imported;
}

/**
 * The key for a token's protected header: same `alg` always (RFC 8725 §3.1). A token's `kid` picks
 * the key with that `kid`; failing that, the one key of the alg configured without a `kid` serves any
 * `kid`. A token without `kid` gets the one key of its alg without a `kid`, or the only key of its alg.
 */
export function staticKeyResolver(keys: StaticKey[]) {
  return (header: JWTHeaderParameters): KeyObject => {
    const sameAlg = keys.filter((k) => k.alg === header.alg);
    const anyKid = sameAlg.filter((k) => k.kid === undefined);
    const found =
      (header.kid !== undefined ? sameAlg.find((k) => k.kid === header.kid) : undefined) ??
      (anyKid.length === 1 ? anyKid[0] : undefined) ??
      (header.kid === undefined && sameAlg.length === 1 ? sameAlg[0] : undefined);
    if (!found) throw new errors.JWKSNoMatchingKey();
    return found.key;
  };
}

export { isHmac };
