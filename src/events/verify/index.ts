/**
 * Inbound webhook verification (Q1; docs/webhooks-inbound.md): one verifier per provider scheme, all
 * over the raw body bytes, with constant-time comparison, several secrets per source for rotation,
 * and signed timestamps held to a tolerance around an injectable clock.
 */
export { createVerifier } from './create.ts';
export {
  WebhookSecretMissing,
  WebhookSignatureInvalid,
  WebhookSignatureMalformed,
  WebhookSignatureMissing,
  WebhookTimestampStale,
} from './errors.ts';
export { hmacVerifier } from './generic-hmac.ts';
export { githubVerifier } from './github.ts';
export { MAX_SHORT_HEADER_CHARS, MAX_SIGNATURE_ENTRIES, MAX_SIGNATURE_HEADER_CHARS } from './headers.ts';
export {
  type GithubVerifyConfig,
  githubVerifySchema,
  type HmacVerifyConfig,
  hmacVerifySchema,
  type ShopifyVerifyConfig,
  type SlackVerifyConfig,
  type StandardWebhooksVerifyConfig,
  type StripeVerifyConfig,
  shopifyVerifySchema,
  slackVerifySchema,
  standardWebhooksVerifySchema,
  stripeVerifySchema,
  type VerifyConfig,
  verifySchema,
} from './schema.ts';
export { shopifyVerifier } from './shopify.ts';
export { slackVerifier } from './slack.ts';
export { standardWebhooksVerifier } from './standard-webhooks.ts';
export { stripeVerifier } from './stripe.ts';
export type {
  Clock,
  VerifiedWebhook,
  VerifierOptions,
  WebhookHeaders,
  WebhookProvider,
  WebhookRequest,
  WebhookVerifier,
} from './types.ts';
