/**
 * Codes of outbound webhooks (issue #7; docs/errors.md "Outbound webhooks"). Stable: never renamed or
 * reused.
 */
import { defineError } from '../core/errors.ts';

/** Another live application of the tenant (or endpoint of the application) has this uid. */
export const WebhookUidTaken = defineError('webhook_uid_taken', 409, 'The uid is already in use');
/** The endpoint URL is not an absolute http(s) URL without credentials (or https-only is set). */
export const WebhookUrlInvalid = defineError('webhook_url_invalid', 422, 'The endpoint URL is not usable');
/** The endpoint URL names or resolves to a loopback, private or reserved address. */
export const WebhookUrlForbidden = defineError(
  'webhook_url_forbidden',
  422,
  'The endpoint URL reaches a private or reserved address',
);
/** A message names an event type that does not exist or is archived. */
export const WebhookEventTypeUnknown = defineError(
  'webhook_event_type_unknown',
  422,
  'The event type does not exist',
);
/** Creating an event type whose name a live one has. */
export const WebhookEventTypeExists = defineError('webhook_event_type_exists', 409, 'The event type exists');
/** The payload does not validate against the event type's current schema. */
export const WebhookPayloadInvalid = defineError(
  'webhook_payload_invalid',
  422,
  "The payload does not match the event type's schema",
);
/** A registered schema is not a valid JSON Schema (draft 2020-12). */
export const WebhookSchemaInvalid = defineError(
  'webhook_schema_invalid',
  422,
  'The schema is not valid JSON Schema',
);
/** A new schema version breaks the compatibility mode asked for against the previous version. */
export const WebhookSchemaIncompatible = defineError(
  'webhook_schema_incompatible',
  409,
  'The schema is not compatible with the previous version',
);
/** Other versions kept arriving while this one was being checked. */
export const WebhookSchemaConflict = defineError(
  'webhook_schema_conflict',
  409,
  'Another schema version was registered at the same time',
);
/** Restore of an application or endpoint that is past retention, not deleted, or whose uid is taken. */
export const WebhookNotRestorable = defineError('webhook_not_restorable', 409, 'It cannot be restored');
/** A send with this Idempotency-Key is still running. */
export const WebhookIdempotencyKeyInUse = defineError(
  'webhook_idempotency_key_in_use',
  409,
  'A send with this Idempotency-Key is still being processed',
);
/** The Idempotency-Key was first used with another application or body. */
export const WebhookIdempotencyKeyMismatch = defineError(
  'webhook_idempotency_key_mismatch',
  422,
  'This Idempotency-Key was used with a different request',
);
/** A resend finds the delivery leased by a worker right now: it is being attempted. */
export const WebhookDeliveryInFlight = defineError(
  'webhook_delivery_in_flight',
  409,
  'The delivery is being attempted right now',
);
/** An endpoint named in the body is not a live endpoint of the application. */
export const WebhookEndpointUnknown = defineError(
  'webhook_endpoint_unknown',
  422,
  'The endpoint is not a live endpoint of the application',
);
/** Recover or resend to a disabled endpoint: what is requeued would only wait. */
export const WebhookEndpointDisabled = defineError(
  'webhook_endpoint_disabled',
  409,
  'The endpoint is disabled',
);
/** A stored endpoint secret cannot be decrypted: no or the wrong `webhooks.encryptionKey`. */
export const WebhookSecretUnreadable = defineError(
  'webhook_secret_unreadable',
  500,
  "The endpoint's secret cannot be decrypted with the configured keys",
);
