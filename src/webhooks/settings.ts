/**
 * Settings of outbound webhooks, as one TypeBox schema with its defaults (STYLE.md §4): the
 * `webhooks:` block of junction.yaml (src/config/schema.ts), read by the admin API, the endpoint
 * resolver of the delivery worker and the purge timer of a running gateway (src/cli/gateway.ts).
 */
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';

const DAY_MS = 86_400_000;
/** 32 bytes in base64 or base64url. */
const KEY = '^[A-Za-z0-9+/_-]{43}=?$';
const MIN_MS = 60_000;
const HOUR_MS = 3_600_000;

/** Issue #7's schedule: the first attempt at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE_MS = [
  5_000,
  5 * MIN_MS,
  30 * MIN_MS,
  2 * HOUR_MS,
  5 * HOUR_MS,
  10 * HOUR_MS,
  10 * HOUR_MS,
];

export const WebhookSettingsSchema = Type.Object(
  {
    allowPrivateNetworks: Type.Boolean({
      default: false,
      description: 'Endpoint URLs may name loopback, private and reserved addresses (a lab, the demo)',
    }),
    allowHosts: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
      default: [],
      maxItems: 256,
      description:
        'Host names (exact, case-insensitive), IP addresses or CIDR ranges allowed although private: `127.0.0.1`, `10.1.0.0/16`',
    }),
    httpsOnly: Type.Boolean({ default: false, description: 'Refuse `http://` endpoint URLs' }),
    deletedRetentionMs: Type.Integer({
      minimum: 0,
      default: 30 * DAY_MS,
      description:
        'How long a deleted application or endpoint can be restored before the hourly purge removes it',
    }),
    payloadRetentionMs: Type.Integer({
      minimum: 0,
      default: 90 * DAY_MS,
      description: 'How long a message keeps its payload (the hourly purge drops older ones)',
    }),
    idempotencyTtlMs: Type.Integer({
      minimum: 1000,
      default: DAY_MS,
      description: 'How long an Idempotency-Key of a send is remembered',
    }),
    maxPayloadBytes: Type.Integer({
      minimum: 1,
      maximum: 1_048_576,
      default: 262_144,
      description: 'Largest message payload, in bytes of JSON',
    }),
    encryptionKey: Type.Optional(
      Type.String({
        pattern: KEY,
        description:
          'AES-256-GCM key sealing endpoint secrets and signing keys at rest, 32 bytes base64, from an environment variable (e.g. JUNCTION_WEBHOOK_KEY). Without it they are stored as given (a warning at start)',
      }),
    ),
    keyVersion: Type.Integer({
      minimum: 1,
      maximum: 65_535,
      default: 1,
      description: 'Version of encryptionKey, stored with every sealed secret',
    }),
    previousKeys: Type.Array(
      Type.Object(
        { version: Type.Integer({ minimum: 1, maximum: 65_535 }), key: Type.String({ pattern: KEY }) },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 16, description: 'Retired encryption keys still read (key rotation)' },
    ),
    rotationGraceMs: Type.Integer({
      minimum: 0,
      maximum: 7 * DAY_MS,
      default: DAY_MS,
      description: 'Grace period of a rotated-out secret, unless the rotation names one (at most 7 days)',
    }),
    retryScheduleMs: Type.Array(Type.Integer({ minimum: 0, maximum: DAY_MS }), {
      default: DEFAULT_RETRY_SCHEDULE_MS,
      maxItems: 50,
      description:
        'Delays before each retry of a failed delivery (the first attempt is at once); its length is the number of retries. Empty: no retries',
    }),
    retryJitter: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.2,
      description: 'Each retry delay is drawn within ± this share of it (0.2: ±20 %)',
    }),
    maxRetryAfterMs: Type.Integer({
      minimum: 0,
      maximum: DAY_MS,
      default: 10 * HOUR_MS,
      description: 'The longest Retry-After honoured; a longer one is cut to this',
    }),
    slowDownMs: Type.Integer({
      minimum: 0,
      maximum: DAY_MS,
      default: MIN_MS,
      description: 'The least delay after 429, 502, 504 and timeouts, whatever the schedule says',
    }),
    timeoutMs: Type.Integer({
      minimum: 1,
      maximum: 300_000,
      default: 15_000,
      description: 'Response timeout of one attempt, connect to last byte; later is a retry',
    }),
    breaker: Type.Object(
      {
        failures: Type.Integer({
          minimum: 1,
          maximum: 1000,
          // 20, not 5: an endpoint failing a third of the time at random has 5 failures in a row
          // every ~250 attempts ((1/3)^5), 20 never in practice ((1/3)^20 ≈ 3e-10), while a dead one
          // reaches 20 within its first 20 queued attempts. Measured by the reliability test.
          default: 20,
          description:
            'Failed attempts in a row (no answer, timeout, 5xx) to one endpoint that open its circuit breaker',
        }),
        cooldownMs: Type.Integer({
          minimum: 1,
          maximum: DAY_MS,
          default: 30_000,
          description:
            "How long an opened breaker holds the endpoint's deliveries (no attempt, none counted) before one trial",
        }),
        maxCooldownMs: Type.Integer({
          minimum: 1,
          maximum: DAY_MS,
          default: 10 * MIN_MS,
          description: 'The cooldown doubles after each failed trial, up to this',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'Per-endpoint circuit breaker: one dead endpoint costs no worker capacity',
      },
    ),
    autoDisableAfterMs: Type.Integer({
      minimum: 0,
      default: 5 * DAY_MS,
      description:
        'An endpoint whose attempts have all failed for this long is disabled (any success resets the clock); 0: never',
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Outbound webhooks (docs/webhooks-outbound.md); read again on reload',
  },
);
export type WebhookSettings = Static<typeof WebhookSettingsSchema>;

export const MAX_ROTATION_GRACE_MS = 7 * DAY_MS;

/**
 * The settings with defaults filled in.
 * @example
 * const settings = webhookSettings({ allowHosts: ['127.0.0.1'] });
 */
export function webhookSettings(partial: Partial<WebhookSettings> = {}): WebhookSettings {
  return Value.Default(WebhookSettingsSchema, structuredClone(partial)) as WebhookSettings;
}
