/**
 * A source's secrets, decoded once when the verifier is built. Several may be configured so a secret
 * can be rotated without dropping deliveries: the provider signs with the new one while the old one
 * still verifies (any one matching passes). Empty entries are skipped, so an optional old secret can
 * be `${STRIPE_WEBHOOK_SECRET_OLD:-}` and simply left unset once the roll is over.
 */
import { JunctionError } from '../../core/errors.ts';
import { WebhookSecretMissing } from './errors.ts';

export interface Keyring<K> {
  keys: K[];
  /** Position of each key in the configured list, reported as `secretIndex`. */
  indices: number[];
}

/** `decode` returns the key, or a reason the secret cannot be used (never the secret itself). */
export function keyring<K>(
  secrets: readonly string[],
  provider: string,
  decode: (secret: string) => K | string,
): Keyring<K> {
  const ring: Keyring<K> = { keys: [], indices: [] };
  secrets.forEach((secret, i) => {
    if (secret === '') return;
    const key = decode(secret);
    if (typeof key === 'string')
      throw new JunctionError(WebhookSecretMissing, `${provider} secrets[${i}] cannot be used: ${key}`);
    ring.keys.push(key);
    ring.indices.push(i);
  });
  if (ring.keys.length === 0)
    throw new JunctionError(WebhookSecretMissing, `${provider} source has no secret (every entry is empty)`);
  return ring;
}

export const utf8Key = (secret: string): Buffer => Buffer.from(secret, 'utf8');
