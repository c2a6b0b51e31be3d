/** One factory over every provider, driven by the `provider` of a source's `verify:` block. */

import { hmacVerifier } from './generic-hmac.ts';
import { githubVerifier } from './github.ts';
import type { VerifyConfig } from './schema.ts';
import { shopifyVerifier } from './shopify.ts';
import { slackVerifier } from './slack.ts';
import { standardWebhooksVerifier } from './standard-webhooks.ts';
import { stripeVerifier } from './stripe.ts';
import type { VerifierOptions, WebhookVerifier } from './types.ts';

/**
 * Builds the verifier for a validated `verify:` block (defaults filled), decoding its secrets once.
 * Throws `webhook_secret_missing` when no secret is usable and an Error for a generic template that
 * does not fit its headers: both are config mistakes, reported at load.
 *
 * @example
 * const verifier = createVerifier(Value.Default(verifySchema, {
 *   provider: 'stripe', secrets: [process.env.STRIPE_WEBHOOK_SECRET],
 * }) as VerifyConfig);
 * const { id, type } = verifier.verify({ headers: req.headers, body: rawBody });
 */
export function createVerifier(config: VerifyConfig, options: VerifierOptions = {}): WebhookVerifier {
  switch (config.provider) {
    case 'stripe':
      return stripeVerifier(config, options);
    case 'github':
      return githubVerifier(config);
    case 'shopify':
      return shopifyVerifier(config);
    case 'slack':
      return slackVerifier(config, options);
    case 'standard-webhooks':
      return standardWebhooksVerifier(config, options);
    case 'hmac':
      return hmacVerifier(config, options);
  }
}
