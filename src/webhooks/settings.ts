/**
 * Settings of outbound webhooks, as one TypeBox schema with its defaults (STYLE.md §4): the
 * `webhooks:` block of junction.yaml (src/config/schema.ts), read by the admin API, the endpoint
 * resolver of the delivery worker and the purge timer of a running gateway (src/cli/gateway.ts).
 */
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';

const DAY_MS = 86_400_000;

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
    rotationGraceMs: Type.Integer({
      minimum: 0,
      maximum: 7 * DAY_MS,
      default: DAY_MS,
      description: 'Grace period of a rotated-out secret, unless the rotation names one (at most 7 days)',
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
