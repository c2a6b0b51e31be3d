/**
 * Shopify: `X-Shopify-Hmac-Sha256: <base64>`, an HMAC-SHA256 over the raw body keyed with the app's
 * client secret. No timestamp is signed (`X-Shopify-Triggered-At` is not covered, so checking it
 * would protect nothing) and neither is `X-Shopify-Webhook-Id` (`idSigned: false`).
 * https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook
 */
import { JunctionError } from '../../core/errors.ts';
import { decodeSignature, hmac, matchingKey } from './crypto.ts';
import { WebhookSignatureInvalid } from './errors.ts';
import { MAX_SHORT_HEADER_CHARS, optionalHeader, requiredHeader } from './headers.ts';
import type { ShopifyVerifyConfig } from './schema.ts';
import { keyring, utf8Key } from './secrets.ts';
import type { WebhookVerifier } from './types.ts';

const HEADER = 'X-Shopify-Hmac-Sha256';

/**
 * @example
 * const v = shopifyVerifier({ provider: 'shopify', secrets: [process.env.SHOPIFY_CLIENT_SECRET!] });
 * const { id, type } = v.verify({ headers: req.headers, body: rawBody }); // webhook id, topic
 */
export function shopifyVerifier(config: ShopifyVerifyConfig): WebhookVerifier {
  const ring = keyring(config.secrets, 'shopify', utf8Key);
  return {
    provider: 'shopify',
    verify({ headers, body }) {
      const sig = decodeSignature(
        requiredHeader(headers, HEADER, MAX_SHORT_HEADER_CHARS).trim(),
        'base64',
        32,
      );
      const i = matchingKey(ring.keys, (key) => hmac('sha256', key, [body]), sig ? [sig] : []);
      if (i < 0)
        throw new JunctionError(WebhookSignatureInvalid, `${HEADER} does not match the source's secrets`);
      return {
        provider: 'shopify',
        id: optionalHeader(headers, 'X-Shopify-Webhook-Id', MAX_SHORT_HEADER_CHARS),
        type: optionalHeader(headers, 'X-Shopify-Topic', MAX_SHORT_HEADER_CHARS),
        idSigned: false,
        signedAtMs: undefined,
        secretIndex: ring.indices[i]!,
      };
    },
  };
}
