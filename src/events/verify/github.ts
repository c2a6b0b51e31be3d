/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex>`, an HMAC-SHA256 over the raw body keyed with the
 * webhook secret. No timestamp is signed, so nothing bounds a replay but deduplication; the delivery
 * id (`X-GitHub-Delivery`) is not signed either (`idSigned: false`). The legacy SHA-1
 * `X-Hub-Signature` is not accepted. https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries
 */
import { JunctionError } from '../../core/errors.ts';
import { decodeSignature, hmac, matchingKey } from './crypto.ts';
import { WebhookSignatureInvalid, WebhookSignatureMalformed } from './errors.ts';
import { MAX_SHORT_HEADER_CHARS, optionalHeader, requiredHeader } from './headers.ts';
import type { GithubVerifyConfig } from './schema.ts';
import { keyring, utf8Key } from './secrets.ts';
import type { WebhookVerifier } from './types.ts';

const HEADER = 'X-Hub-Signature-256';
const PREFIX = 'sha256=';

/**
 * @example
 * const v = githubVerifier({ provider: 'github', secrets: [process.env.GITHUB_WEBHOOK_SECRET!] });
 * const { id, type } = v.verify({ headers: req.headers, body: rawBody }); // X-GitHub-Delivery, X-GitHub-Event
 */
export function githubVerifier(config: GithubVerifyConfig): WebhookVerifier {
  const ring = keyring(config.secrets, 'github', utf8Key);
  return {
    provider: 'github',
    verify({ headers, body }) {
      const value = requiredHeader(headers, HEADER, MAX_SHORT_HEADER_CHARS);
      if (!value.startsWith(PREFIX))
        throw new JunctionError(WebhookSignatureMalformed, `${HEADER} must start with ${PREFIX}`);
      const sig = decodeSignature(value.slice(PREFIX.length), 'hex', 32);
      const i = matchingKey(ring.keys, (key) => hmac('sha256', key, [body]), sig ? [sig] : []);
      if (i < 0)
        throw new JunctionError(WebhookSignatureInvalid, `${HEADER} does not match the source's secrets`);
      return {
        provider: 'github',
        id: optionalHeader(headers, 'X-GitHub-Delivery', MAX_SHORT_HEADER_CHARS),
        type: optionalHeader(headers, 'X-GitHub-Event', MAX_SHORT_HEADER_CHARS),
        idSigned: false,
        signedAtMs: undefined,
        secretIndex: ring.indices[i]!,
      };
    },
  };
}
