/**
 * The API key secret: `jk_<lookup>_<random>`, shown once when the key is created.
 *
 * - `jk_` makes a leaked secret recognizable: log redaction and secret scanners match
 *   `API_KEY_SECRET_PATTERN` (STYLE.md §12; GitHub's token format post explains why).
 * - `<lookup>`: 12 random lowercase Crockford base32 characters (60 bits), stored in clear as the
 *   row's `prefix` and used to find it. It is not secret and carries no time or id.
 * - `<random>`: 32 random bytes, base64url (43 characters). All the entropy that matters.
 *
 * Only SHA-256 of the whole secret is stored. A fast hash is right for a 256-bit random secret: the
 * salting and stretching of the OWASP Password Storage Cheat Sheet defend guessable passwords, and
 * nobody brute-forces 2^256 (OWASP REST Security Cheat Sheet, "API Keys"). Comparison is constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const LOOKUP_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford, lowercase: no i, l, o, u
const LOOKUP_LENGTH = 12;
const RANDOM_BYTES = 32;

/** A whole secret, anchored. */
export const API_KEY_SECRET = /^jk_([0-9a-hjkmnp-tv-z]{12})_([A-Za-z0-9_-]{43})$/;
/** For scanning text (logs) for leaked secrets. */
export const API_KEY_SECRET_PATTERN = /jk_[0-9a-hjkmnp-tv-z]{12}_[A-Za-z0-9_-]{43}/g;

export interface MintedSecret {
  secret: string;
  prefix: string;
  hash: string;
}

/** A new secret with its lookup prefix and its digest. */
export function mintSecret(): MintedSecret {
  // 32 divides 256, so `byte & 31` is uniform over the alphabet.
  const bytes = randomBytes(LOOKUP_LENGTH);
  let prefix = '';
  for (const b of bytes) prefix += LOOKUP_ALPHABET[b & 31];
  const secret = `jk_${prefix}_${randomBytes(RANDOM_BYTES).toString('base64url')}`;
  return { secret, prefix, hash: hashSecret(secret) };
}

/** The lookup prefix of a well-formed secret, or undefined for anything else. */
export function lookupPrefix(secret: string): string | undefined {
  return API_KEY_SECRET.exec(secret)?.[1];
}

/** SHA-256, hex: what the `api_keys.hash` column holds. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant time in the content; both sides are 32-byte digests, so lengths never differ. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(secret).digest();
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}
