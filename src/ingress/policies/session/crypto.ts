/**
 * Secrets at rest and session ids. Tokens are sealed with AES-256-GCM (NIST SP 800-38D): a random
 * 96-bit IV per seal, the 128-bit tag checked on open, and associated data naming the row and column
 * so a ciphertext copied to another session or field does not open (RFC 9700 §4.14 asks refresh
 * tokens to be protected; OWASP Cryptographic Storage Cheat Sheet). The key version is stored with
 * every ciphertext, so keys can rotate: new seals use the current key, old ones open with a retired
 * key until they are sealed again at the next refresh.
 *
 * Session ids are 256 random bits (OWASP Session Management Cheat Sheet asks for at least 64 bits
 * of entropy); the store keys rows by their SHA-256, so its contents do not reveal a live cookie.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
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

export function decodeKey(text: string): Buffer {
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) throw new RangeError('an encryption key must be 32 bytes (base64)');
  return key;
}

/**
 * @example
 * const sealer = new Sealer(1, decodeKey(process.env.SESSION_KEY!), new Map());
 * const stored = sealer.seal(refreshToken, `${sessionId}:refresh_token`);
 * sealer.open(stored, `${sessionId}:refresh_token`); // refreshToken
 */
export class Sealer {
  readonly version: number;
  readonly #keys: Map<number, Buffer>;

  constructor(version: number, key: Buffer, previous: Map<number, Buffer>) {
    this.version = version;
    this.#keys = new Map(previous);
    this.#keys.set(version, key);
  }

  /** `<version>.<base64url(iv | ciphertext | tag)>` */
  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.version)!, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${this.version}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The plaintext, or undefined when the key is unknown or the ciphertext or its context was altered. */
  open(sealed: string, aad: string): string | undefined {
    const dot = sealed.indexOf('.');
    const key = this.#keys.get(Number(sealed.slice(0, dot)));
    if (dot < 1 || key === undefined) return undefined;
    const raw = Buffer.from(sealed.slice(dot + 1), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
