/**
 * Error codes of `core.idempotency` (docs/errors.md, docs/idempotency.md). Statuses follow
 * draft-ietf-httpapi-idempotency-key-header-07 §2.6 (400 missing, 409 in flight, 422 reused with
 * another payload) and Stripe's `idempotency_key_in_use` (https://docs.stripe.com/api/errors).
 */
import { defineError } from '../../../core/errors.ts';

export const IdempotencyKeyMissing = defineError(
  'idempotency_key_missing',
  400,
  'This route requires an Idempotency-Key header',
);
export const IdempotencyKeyInvalid = defineError(
  'idempotency_key_invalid',
  400,
  'Idempotency-Key must be 1 to 255 printable ASCII characters',
);
export const IdempotencyKeyInUse = defineError(
  'idempotency_key_in_use',
  409,
  'A request with this Idempotency-Key is still being processed',
);
export const IdempotencyKeyMismatch = defineError(
  'idempotency_key_mismatch',
  422,
  'This Idempotency-Key was used with a different request',
);
export const IdempotencyBodyTooLarge = defineError(
  'idempotency_body_too_large',
  413,
  'The body is too large to be made idempotent',
);
export const IdempotencyUnavailable = defineError(
  'idempotency_unavailable',
  503,
  'Idempotency keys cannot be checked right now',
);
