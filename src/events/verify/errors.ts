/**
 * Codes of inbound webhook verification (docs/webhooks-inbound.md). The answers say which check
 * failed — a sender fixing its integration needs that — but never what was expected: no computed
 * signature, no secret, not even which of the configured secrets came closest.
 */
import { defineError } from '../../core/errors.ts';

/** A header the provider's scheme requires (signature, timestamp, message id) is absent. */
export const WebhookSignatureMissing = defineError(
  'webhook_signature_missing',
  400,
  'Webhook signature required',
);

/**
 * A signature or timestamp header is present but cannot be read: too long, too many entries, no entry
 * in the expected scheme, a timestamp that is not an integer. Bounded before any HMAC is computed.
 */
export const WebhookSignatureMalformed = defineError(
  'webhook_signature_malformed',
  400,
  'Webhook signature header malformed',
);

/** No signature in the request matches any of the source's secrets (or the body was changed). */
export const WebhookSignatureInvalid = defineError(
  'webhook_signature_invalid',
  401,
  'Webhook signature does not match',
);

/**
 * The signed timestamp is further from the gateway's clock than the tolerance, in the past (a replay
 * of a captured delivery) or the future. 401, like an expired token (`jwt_invalid`): the timestamp is
 * part of the signed credential, and the credential is no longer good. Providers re-sign retries with
 * a fresh timestamp, so a genuine retry passes.
 */
export const WebhookTimestampStale = defineError(
  'webhook_timestamp_stale',
  401,
  'Webhook timestamp outside the tolerance',
);

/**
 * The source has no secret it can verify with: every entry is empty (`${VAR:-}` left unset) or one
 * cannot be used (a `whsec_` secret that is not base64, a signing key where the public key belongs).
 * Raised when the verifier is built, so normally at config load; the gateway's fault, hence 500.
 */
export const WebhookSecretMissing = defineError(
  'webhook_secret_missing',
  500,
  'No usable webhook secret configured',
);
