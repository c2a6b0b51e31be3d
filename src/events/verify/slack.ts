/**
 * Slack: `X-Slack-Signature: v0=<hex>`, an HMAC-SHA256 over `v0:<X-Slack-Request-Timestamp>:<raw body>`
 * keyed with the app's signing secret; Slack's own libraries refuse timestamps older than 5 minutes.
 * The id and type come from an Events API body (`event_id`, `event.type`); slash commands and
 * interactivity payloads are form-encoded and carry none.
 * https://api.slack.com/authentication/verifying-requests-from-slack
 */
import { JunctionError } from '../../core/errors.ts';
import { decodeSignature, hmac, matchingKey } from './crypto.ts';
import { WebhookSignatureInvalid, WebhookSignatureMalformed } from './errors.ts';
import { MAX_SHORT_HEADER_CHARS, requiredHeader } from './headers.ts';
import { type JsonObject, jsonObject, stringField } from './payload.ts';
import type { SlackVerifyConfig } from './schema.ts';
import { keyring, utf8Key } from './secrets.ts';
import { checkTolerance, parseUnixSeconds } from './timestamp.ts';
import type { VerifierOptions, WebhookVerifier } from './types.ts';

const HEADER = 'X-Slack-Signature';
const TIMESTAMP = 'X-Slack-Request-Timestamp';
const PREFIX = 'v0=';

/**
 * @example
 * const v = slackVerifier({ provider: 'slack', secrets: [process.env.SLACK_SIGNING_SECRET!], toleranceS: 300 });
 * const { id, type } = v.verify({ headers: req.headers, body: rawBody }); // event_id, event.type
 */
export function slackVerifier(config: SlackVerifyConfig, options: VerifierOptions = {}): WebhookVerifier {
  const ring = keyring(config.secrets, 'slack', utf8Key);
  const now = options.now ?? Date.now;
  return {
    provider: 'slack',
    verify({ headers, body }) {
      const value = requiredHeader(headers, HEADER, MAX_SHORT_HEADER_CHARS);
      const ts = requiredHeader(headers, TIMESTAMP, MAX_SHORT_HEADER_CHARS);
      if (!value.startsWith(PREFIX))
        throw new JunctionError(WebhookSignatureMalformed, `${HEADER} must start with ${PREFIX}`);
      const signedAtS = parseUnixSeconds(ts, TIMESTAMP);
      checkTolerance(signedAtS, config.toleranceS, now(), TIMESTAMP);
      const sig = decodeSignature(value.slice(PREFIX.length), 'hex', 32);
      const i = matchingKey(ring.keys, (key) => hmac('sha256', key, [`v0:${ts}:`, body]), sig ? [sig] : []);
      if (i < 0)
        throw new JunctionError(WebhookSignatureInvalid, `${HEADER} does not match the source's secrets`);
      const payload = jsonObject(body);
      const event = payload?.event;
      return {
        provider: 'slack',
        id: stringField(payload, 'event_id'),
        type:
          stringField(
            event !== null && typeof event === 'object' ? (event as JsonObject) : undefined,
            'type',
          ) ?? stringField(payload, 'type'),
        idSigned: true,
        signedAtMs: signedAtS * 1000,
        secretIndex: ring.indices[i]!,
      };
    },
  };
}
