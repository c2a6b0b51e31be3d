/**
 * Secrets at rest and session ids. Tokens are sealed with the core Sealer (src/core/sealer.ts,
 * AES-256-GCM with key versions; RFC 9700 §4.14 asks refresh tokens to be protected; OWASP
 * Cryptographic Storage Cheat Sheet); old ones open with a retired key until they are sealed again at
 * the next refresh.
 *
 * Session ids are 256 random bits (OWASP Session Management Cheat Sheet asks for at least 64 bits
 * of entropy); the store keys rows by their SHA-256, so its contents do not reveal a live cookie.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export { decodeKey, Sealer } from '../../../core/sealer.ts';

const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A fresh 256-bit random value, base64url (43 characters): cookie values, state, binding. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** True when `s` looks like a `randomToken()`: garbage never reaches the store. */
export function isToken(s: string | undefined): s is string {
  return s !== undefined && TOKEN.test(s);
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}

/** Compares two strings in time independent of where they differ. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
