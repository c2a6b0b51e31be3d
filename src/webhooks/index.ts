/**
 * Outbound webhooks (issue #7, docs/webhooks-outbound.md): a Svix-class delivery platform on the
 * event hub's durable queue. Applications, endpoints, event types with versioned JSON Schemas,
 * messages and attempts live in the store (`store.webhooks`); this folder holds the rules around them.
 */

export {
  allPages,
  type CursorPage,
  createWebhookClient,
  type NumberedPage,
  type Problem,
  WebhookApiError,
  type WebhookClient,
} from './client.ts';
export {
  COMPATIBILITY_MODES,
  type CompatibilityIssue,
  type CompatibilityMode,
  checkCompatibility,
  describeIssues,
} from './compat.ts';
export {
  CACHE_TTL_MS,
  createEndpointResolver,
  DEFAULT_RETRY,
  type EndpointResolver,
  type EndpointResolverOptions,
} from './delivery.ts';
export { type BreakerSettings, createEndpointBreakers, type EndpointBreakers } from './endpoint-breaker.ts';
export {
  createEndpointLimits,
  type EndpointLimits,
  type EndpointLimitsOptions,
  redisEndpointPacing,
} from './endpoint-limits.ts';
export {
  WebhookDeliveryInFlight,
  WebhookEndpointDisabled,
  WebhookEndpointUnknown,
  WebhookEventTypeExists,
  WebhookEventTypeUnknown,
  WebhookIdempotencyKeyInUse,
  WebhookIdempotencyKeyMismatch,
  WebhookNotRestorable,
  WebhookPayloadInvalid,
  WebhookSchemaConflict,
  WebhookSchemaIncompatible,
  WebhookSchemaInvalid,
  WebhookUidTaken,
  WebhookUrlForbidden,
  WebhookUrlInvalid,
} from './errors.ts';
export { registerSchema } from './event-types.ts';
export { LOCAL_KEY_FILE, localKey, withLocalKey } from './local-key.ts';
export {
  createOperationalEvents,
  FAILING_AFTER_ATTEMPTS,
  OPERATIONAL_SOURCE,
  type OperationalEvents,
} from './operational-events.ts';
export { checkSchema, validatePayload } from './payload-schema.ts';
export {
  PURGE_INTERVAL_MS,
  type PurgeResult,
  type PurgeTimer,
  purgeWebhooks,
  startPurgeTimer,
} from './purge.ts';
export * from './recovery.ts';
export { type SecretBox, type SecretField, secretBoxOf } from './secret-box.ts';
export {
  activeSecrets,
  generateSecret,
  generateSigningKey,
  isWebhookSecret,
  publicKeyOf,
  publicKeyOfEndpoint,
  signingSecrets,
} from './secrets.ts';
export { type SendInput, sendMessage } from './send.ts';
export {
  DEFAULT_RETRY_SCHEDULE_MS,
  MAX_ROTATION_GRACE_MS,
  type WebhookSettings,
  WebhookSettingsSchema,
  webhookSettings,
} from './settings.ts';
export { checkEndpointUrl, type Resolver } from './url-guard.ts';
export * from './views.ts';
