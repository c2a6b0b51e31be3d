/**
 * Secrets at rest: AES-256-GCM (NIST SP 800-38D) with a random 96-bit IV per seal, the 128-bit tag
 * checked on open, and associated data naming the record and field, so a ciphertext copied to another
 * row or column does not open. The key version is stored with every ciphertext, so keys rotate: new
 * seals use the current key, old ones open with a retired key until they are sealed again.
 *
 * Used for session tokens (src/ingress/policies/session) and outbound webhook secrets
 * (src/webhooks/secret-box.ts).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

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
