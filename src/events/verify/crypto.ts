/**
 * HMAC and signature comparison. Signatures are decoded strictly to bytes of the digest's length and
 * compared with `crypto.timingSafeEqual`, so the time taken does not depend on how many leading
 * bytes of a forged signature are right. A candidate of the wrong length or encoding is dropped
 * before any comparison: it can never match, and its length says nothing about the secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type SignatureEncoding = 'hex' | 'base64' | 'base64url';

export const DIGEST_BYTES: Readonly<Record<HmacAlgorithm, number>> = { sha1: 20, sha256: 32, sha512: 64 };

const HEX = /^[0-9A-Fa-f]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** HMAC over the concatenation of `parts`, without copying the body into a new buffer. */
export function hmac(
  algorithm: HmacAlgorithm,
  key: Uint8Array,
  parts: readonly (string | Uint8Array)[],
): Buffer {
  const h = createHmac(algorithm, key);
  for (const part of parts) h.update(part);
  return h.digest();
}

/** The bytes of an encoded signature, or `undefined` unless it is exactly `bytes` long and well-formed. */
export function decodeSignature(
  text: string,
  encoding: SignatureEncoding,
  bytes: number,
): Buffer | undefined {
  if (encoding === 'hex') {
    return text.length === bytes * 2 && HEX.test(text) ? Buffer.from(text, 'hex') : undefined;
  }
  // Padded base64 is 4·⌈n/3⌉ characters; unpadded base64url may be shorter by the padding.
  const padded = 4 * Math.ceil(bytes / 3);
  if (text.length > padded || text.length < padded - 2) return undefined;
  if (!(encoding === 'base64' ? BASE64 : BASE64URL).test(text)) return undefined;
  const decoded = Buffer.from(text, encoding);
  return decoded.length === bytes ? decoded : undefined;
}

/**
 * The index of the first key whose MAC matches one of `candidates`, or -1. Each key's MAC is computed
 * once, whatever the number of candidates; every comparison is constant-time.
 */
export function matchingKey(
  keys: readonly Uint8Array[],
  mac: (key: Uint8Array) => Buffer,
  candidates: readonly Buffer[],
): number {
  if (candidates.length === 0) return -1;
  for (let i = 0; i < keys.length; i++) {
    const expected = mac(keys[i]!);
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return i;
    }
  }
  return -1;
}

/** A view of the body as a Buffer, without a copy. */
export function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
