/**
 * Endpoint signing keys: Standard Webhooks `whsec_` secrets and `whsk_` Ed25519 signing keys, made and
 * checked by the event hub's signer (src/events/signing.ts, not re-exported by the events index), and
 * the set that signs a request: the current secret, every rotated-out secret still in its grace period,
 * and the endpoint's Ed25519 key if it has one — each opened from its stored (possibly sealed) form.
 */
import {
  generateSecret,
  generateSigningKey,
  isSigningKey,
  isWebhookSecret,
  publicKeyOf,
} from '../events/signing.ts';
import type { WebhookEndpoint } from '../store/index.ts';
import type { SecretBox } from './secret-box.ts';

export { generateSecret, generateSigningKey, isSigningKey, isWebhookSecret, publicKeyOf };

type Keys = Pick<WebhookEndpoint, 'id' | 'secret' | 'previousSecrets' | 'signingKey'>;

/** The `whsec_` secrets that sign now, newest first: the current one, then unexpired previous ones. */
export function activeSecrets(endpoint: Keys, now: number, box: SecretBox): string[] {
  return [
    endpoint.secret,
    ...endpoint.previousSecrets.filter((p) => p.expiresAt > now).map((p) => p.secret),
  ].map((s) => box.open(s, endpoint.id, 'secret'));
}

/** Every key that signs a request now: the active secrets (`v1`) and the Ed25519 key (`v1a`). */
export function signingSecrets(endpoint: Keys, now: number, box: SecretBox): string[] {
  const keys = activeSecrets(endpoint, now, box);
  if (endpoint.signingKey !== null) keys.push(box.open(endpoint.signingKey, endpoint.id, 'signing_key'));
  return keys;
}

/** The `whpk_` key receivers verify `v1a` signatures with; null without an Ed25519 key. */
export function publicKeyOfEndpoint(endpoint: Keys, box: SecretBox): string | null {
  return endpoint.signingKey === null
    ? null
    : publicKeyOf(box.open(endpoint.signingKey, endpoint.id, 'signing_key'));
}
