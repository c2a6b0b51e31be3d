/** Whether a presented secret is good for a stored key, and why not: pure, so unit tests cover each case. */
import type { ApiKey } from '../../../store/index.ts';
import { secretMatches } from './secret.ts';

/** Why a key is refused; recorded in the audit log as `api_key_invalid:<reason>`, never answered. */
export type KeyDenial = 'unknown' | 'mismatch' | 'revoked' | 'expired';

export function checkKey(key: ApiKey | null, secret: string, now: number): KeyDenial | undefined {
  if (key === null) return 'unknown';
  // The digest is compared before revocation and expiry are looked at, so a caller without the
  // secret learns nothing about the key's state, not even through timing.
  if (!secretMatches(secret, key.hash)) return 'mismatch';
  if (key.revokedAt !== null && key.revokedAt <= now) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  return undefined;
}

/** The required scopes the key does not have. */
export function missingScopes(key: ApiKey, required: readonly string[]): string[] {
  return required.filter((s) => !key.scopes.includes(s));
}
