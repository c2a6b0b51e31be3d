/**
 * Standard Webhooks key strings (spec "Signature scheme"; Svix README): `whsec_<base64>` is the
 * symmetric key, used after base64-decoding; `whpk_<base64>` an Ed25519 public key, 32 bytes raw.
 * `whsk_` is the sender's Ed25519 signing key and has no place on the receiving side.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

export type StandardKey = { kind: 'hmac'; key: Buffer } | { kind: 'ed25519'; key: KeyObject };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The key a secret string stands for, or why it cannot be used (never echoing the secret). */
export function standardKey(secret: string): StandardKey | string {
  const underscore = secret.indexOf('_');
  const prefix = secret.slice(0, underscore + 1);
  if (prefix === 'whsk_') return 'a whsk_ key signs; give the receiver the whpk_ public key';
  if (prefix !== 'whsec_' && prefix !== 'whpk_') return 'it must start with whsec_ or whpk_';
  const text = secret.slice(underscore + 1);
  if (!BASE64.test(text) || text.length % 4 === 1) return `${prefix} is not followed by base64`;
  const raw = Buffer.from(text, 'base64');
  if (prefix === 'whsec_') return { kind: 'hmac', key: raw };
  if (raw.length !== 32) return 'a whpk_ key is 32 bytes of Ed25519 public key';
  try {
    return {
      kind: 'ed25519',
      key: createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
        format: 'jwk',
      }),
    };
  } catch {
    return 'it is not a valid Ed25519 public key';
  }
}
