/**
 * Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, each v1 an HMAC-SHA256 over
 * `<t>.<raw body>` keyed with the endpoint secret as is (`whsec_…`, not decoded). While a secret is
 * rolled Stripe sends one v1 per active secret; any match passes and other schemes (v0) are ignored.
 * https://docs.stripe.com/webhooks#verify-manually; stripe-node `src/Webhooks.ts`.
 */
import { JunctionError } from '../../core/errors.ts';
import { decodeSignature, hmac, matchingKey } from './crypto.ts';
import { WebhookSignatureInvalid, WebhookSignatureMalformed } from './errors.ts';
import { entries, MAX_SIGNATURE_HEADER_CHARS, requiredHeader } from './headers.ts';
import { jsonObject, stringField } from './payload.ts';
import type { StripeVerifyConfig } from './schema.ts';
import { keyring, utf8Key } from './secrets.ts';
import { checkTolerance, parseUnixSeconds } from './timestamp.ts';
import type { VerifierOptions, WebhookVerifier } from './types.ts';

const HEADER = 'Stripe-Signature';

/**
 * @example
 * const v = stripeVerifier({ provider: 'stripe', secrets: [process.env.STRIPE_WEBHOOK_SECRET!], toleranceS: 300 });
 * const { id, type } = v.verify({ headers: req.headers, body: rawBody }); // id: 'evt_…'
 */
export function stripeVerifier(config: StripeVerifyConfig, options: VerifierOptions = {}): WebhookVerifier {
  const ring = keyring(config.secrets, 'stripe', utf8Key);
  const now = options.now ?? Date.now;
  return {
    provider: 'stripe',
    verify({ headers, body }) {
      let t: string | undefined;
      let v1 = 0;
      const candidates: Buffer[] = [];
      for (const item of entries(requiredHeader(headers, HEADER, MAX_SIGNATURE_HEADER_CHARS), ',', HEADER)) {
        const eq = item.indexOf('=');
        if (eq < 0) continue;
        const key = item.slice(0, eq).trim();
        const value = item.slice(eq + 1).trim();
        if (key === 't') {
          if (t !== undefined)
            throw new JunctionError(WebhookSignatureMalformed, `${HEADER} has two t= entries`);
          t = value;
        } else if (key === 'v1') {
          v1++;
          const sig = decodeSignature(value, 'hex', 32);
          if (sig) candidates.push(sig);
        }
      }
      if (t === undefined)
        throw new JunctionError(WebhookSignatureMalformed, `${HEADER} has no t= timestamp`);
      if (v1 === 0) throw new JunctionError(WebhookSignatureMalformed, `${HEADER} has no v1= signature`);
      const signedAtS = parseUnixSeconds(t, HEADER);
      checkTolerance(signedAtS, config.toleranceS, now(), HEADER);
      // The timestamp exactly as sent is what Stripe signed.
      const i = matchingKey(ring.keys, (key) => hmac('sha256', key, [`${t}.`, body]), candidates);
      if (i < 0)
        throw new JunctionError(
          WebhookSignatureInvalid,
          `no v1 signature in ${HEADER} matches the source's secrets (is the body the raw bytes?)`,
        );
      const event = jsonObject(body);
      return {
        provider: 'stripe',
        id: stringField(event, 'id'),
        type: stringField(event, 'type'),
        idSigned: true,
        signedAtMs: signedAtS * 1000,
        secretIndex: ring.indices[i]!,
      };
    },
  };
}
