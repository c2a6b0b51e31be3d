/**
 * Endpoint signing secrets: Standard Webhooks `whsec_` keys, made and checked by the event hub's
 * signer (src/events/signing.ts, not re-exported by the events index), and the set that signs a
 * request during a rotation: the current key and every rotated-out key still in its grace period.
 */
import { generateSecret, isWebhookSecret } from '../events/signing.ts';
import type { WebhookEndpoint } from '../store/index.ts';

export { generateSecret, isWebhookSecret };

/** Newest first: the current secret, then the previous ones not yet expired. */
export function signingSecrets(
  endpoint: Pick<WebhookEndpoint, 'secret' | 'previousSecrets'>,
  now: number,
): string[] {
  return [endpoint.secret, ...endpoint.previousSecrets.filter((p) => p.expiresAt > now).map((p) => p.secret)];
}
