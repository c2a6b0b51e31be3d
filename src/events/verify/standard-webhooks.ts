/**
 * Standard Webhooks (v1.0.0; what Svix sends): `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` and `v1a,<base64
 * Ed25519>` over `<id>.<timestamp>.<raw body>`. The id is signed, so it is the one to dedupe on.
 * Svix's own `svix-id`/`svix-timestamp`/`svix-signature` names are read when the `webhook-` ones
 * are absent. https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import { verify as edVerify } from 'node:crypto';
import { JunctionError } from '../../core/errors.ts';
import { asBuffer, decodeSignature, hmac, matchingKey } from './crypto.ts';
import { WebhookSignatureInvalid, WebhookSignatureMalformed } from './errors.ts';
import { entries, MAX_SHORT_HEADER_CHARS, MAX_SIGNATURE_HEADER_CHARS, requiredHeader } from './headers.ts';
import { jsonObject, stringField } from './payload.ts';
import type { StandardWebhooksVerifyConfig } from './schema.ts';
import { keyring } from './secrets.ts';
import { standardKey } from './standard-keys.ts';
import { checkTolerance, parseUnixSeconds } from './timestamp.ts';
import type { VerifierOptions, WebhookHeaders, WebhookVerifier } from './types.ts';

function prefixOf(headers: WebhookHeaders): 'webhook' | 'svix' {
  return headers['webhook-signature'] === undefined && headers['svix-signature'] !== undefined
    ? 'svix'
    : 'webhook';
}

/**
 * Symmetric (v1) signatures are checked against the whsec_ keys, public-key (v1a) ones against the
 * whpk_ keys; the HMACs first, as they are the common case and the cheaper check.
 *
 * @example
 * const v = standardWebhooksVerifier({ provider: 'standard-webhooks', secrets: ['whsec_…'], toleranceS: 300 });
 * const { id, type } = v.verify({ headers: req.headers, body: rawBody }); // webhook-id, JSON type
 */
export function standardWebhooksVerifier(
  config: StandardWebhooksVerifyConfig,
  options: VerifierOptions = {},
): WebhookVerifier {
  const ring = keyring(config.secrets, 'standard-webhooks', standardKey);
  const hmacKeys = ring.keys.flatMap((k) => (k.kind === 'hmac' ? [k.key] : []));
  const hmacIndices = ring.indices.filter((_, i) => ring.keys[i]!.kind === 'hmac');
  const now = options.now ?? Date.now;

  return {
    provider: 'standard-webhooks',
    verify({ headers, body }) {
      const p = prefixOf(headers);
      const idLabel = `${p}-id`;
      const tsLabel = `${p}-timestamp`;
      const sigLabel = `${p}-signature`;
      const id = requiredHeader(headers, idLabel, MAX_SHORT_HEADER_CHARS);
      // The spec keeps "." out of ids: the signed content is `id.timestamp.body`, so a dotted id could
      // shift the boundaries and pass a signature made for another id and timestamp.
      if (id.includes('.')) throw new JunctionError(WebhookSignatureMalformed, `${idLabel} contains "."`);
      const ts = requiredHeader(headers, tsLabel, MAX_SHORT_HEADER_CHARS);
      const list = requiredHeader(headers, sigLabel, MAX_SIGNATURE_HEADER_CHARS);
      const symmetric: Buffer[] = [];
      const asymmetric: Buffer[] = [];
      let known = 0;
      for (const entry of entries(list, ' ', sigLabel)) {
        const comma = entry.indexOf(',');
        const version = entry.slice(0, comma);
        if (version === 'v1') {
          known++;
          const sig = decodeSignature(entry.slice(comma + 1), 'base64', 32);
          if (sig) symmetric.push(sig);
        } else if (version === 'v1a') {
          known++;
          const sig = decodeSignature(entry.slice(comma + 1), 'base64', 64);
          if (sig) asymmetric.push(sig);
        }
      }
      if (known === 0)
        throw new JunctionError(WebhookSignatureMalformed, `${sigLabel} has no v1 or v1a signature`);
      const signedAtS = parseUnixSeconds(ts, tsLabel);
      checkTolerance(signedAtS, config.toleranceS, now(), tsLabel);

      const prefix = `${id}.${ts}.`;
      const h = matchingKey(hmacKeys, (key) => hmac('sha256', key, [prefix, body]), symmetric);
      let secretIndex = h >= 0 ? hmacIndices[h] : undefined;
      if (secretIndex === undefined && asymmetric.length > 0) {
        const content = Buffer.concat([Buffer.from(prefix), asBuffer(body)]);
        ring.keys.forEach((k, i) => {
          if (secretIndex !== undefined || k.kind !== 'ed25519') return;
          if (asymmetric.some((sig) => edVerify(null, content, k.key, sig))) secretIndex = ring.indices[i];
        });
      }
      if (secretIndex === undefined)
        throw new JunctionError(
          WebhookSignatureInvalid,
          `no signature in ${sigLabel} matches the source's keys`,
        );
      return {
        provider: 'standard-webhooks',
        id,
        type: stringField(jsonObject(body), 'type'),
        idSigned: true,
        signedAtMs: signedAtS * 1000,
        secretIndex,
      };
    },
  };
}
