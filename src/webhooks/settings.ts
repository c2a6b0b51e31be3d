/**
 * Settings of outbound webhooks, as one TypeBox schema with its defaults (STYLE.md §4), ready to be
 * mounted as the `webhooks:` block of junction.yaml; until then the admin API uses the defaults
 * unless its deps pass settings (the tests do).
 */
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';

const DAY_MS = 86_400_000;

export const WebhookSettingsSchema = Type.Object(
  {
    /** Endpoint URLs may name loopback, private and reserved addresses (a lab, the demo). */
    allowPrivateNetworks: Type.Boolean({ default: false }),
    /**
     * Host names (exact, case-insensitive), IP addresses or CIDR ranges allowed although private:
     * `127.0.0.1`, `10.1.0.0/16`, `receiver.internal`.
     */
    allowHosts: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { default: [], maxItems: 256 }),
    /** Refuse `http://` endpoint URLs. */
    httpsOnly: Type.Boolean({ default: false }),
    /** How long a deleted application or endpoint can be restored before the purge removes it. */
    deletedRetentionMs: Type.Integer({ minimum: 0, default: 30 * DAY_MS }),
    /** How long a message keeps its payload. */
    payloadRetentionMs: Type.Integer({ minimum: 0, default: 90 * DAY_MS }),
    /** How long an Idempotency-Key of a send is remembered. */
    idempotencyTtlMs: Type.Integer({ minimum: 1000, default: DAY_MS }),
    /** Largest message payload, in bytes of JSON. */
    maxPayloadBytes: Type.Integer({ minimum: 1, maximum: 1_048_576, default: 262_144 }),
    /** Grace period of a rotated-out secret, unless the rotation names one (≤ 7 days). */
    rotationGraceMs: Type.Integer({ minimum: 0, maximum: 7 * DAY_MS, default: DAY_MS }),
  },
  { additionalProperties: false },
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
