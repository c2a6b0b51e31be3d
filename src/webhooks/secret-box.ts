/**
 * Endpoint secrets at rest (issue #7): the `whsec_` secrets (current and rotated-out) and the `whsk_`
 * Ed25519 signing key are sealed with AES-256-GCM (src/core/sealer.ts) when `webhooks.encryptionKey`
 * is set, so a copy of the database (a backup, a replica, a leaked dump) does not let anyone sign
 * messages the endpoints would trust. The associated data names the endpoint and the field: a sealed
 * secret copied to another endpoint's row does not open.
 *
 * Stored forms: `enc:<key version>.<base64url>` sealed, or the key itself (`whsec_…`, `whsk_…`) when
 * no key is configured — and for rows written before one was: those stay readable and are sealed the
 * next time they are written (a rotation). Retired keys (`previousKeys`) keep opening what they sealed.
 */
import { JunctionError } from '../core/errors.ts';
import { decodeKey, Sealer } from '../core/sealer.ts';
import { WebhookSecretUnreadable } from './errors.ts';
import type { WebhookSettings } from './settings.ts';

const SEALED = 'enc:';

/** Which field of an endpoint a value is (part of the associated data). */
export type SecretField = 'secret' | 'signing_key';

export interface SecretBox {
  /** Whether `seal` encrypts (an encryption key is configured). */
  readonly encrypting: boolean;
  /** The form to store: sealed when a key is configured, else the value itself. */
  seal(value: string, endpointId: string, field: SecretField): string;
  /** The key from its stored form; throws `webhook_secret_unreadable` when it cannot be opened. */
  open(stored: string, endpointId: string, field: SecretField): string;
}

const boxes = new WeakMap<WebhookSettings, SecretBox>();

/**
 * The box of these settings (built once per settings object, so per config load).
 * @example
 * const box = secretBoxOf(settings);
 * const stored = box.seal(generateSecret(), endpointId, 'secret');
 * box.open(stored, endpointId, 'secret'); // whsec_…
 */
export function secretBoxOf(settings: WebhookSettings): SecretBox {
  let box = boxes.get(settings);
  if (box === undefined) {
    box = createSecretBox(settings);
    boxes.set(settings, box);
  }
  return box;
}

function createSecretBox(settings: WebhookSettings): SecretBox {
  const sealer =
    settings.encryptionKey === undefined
      ? undefined
      : new Sealer(
          settings.keyVersion,
          decodeKey(settings.encryptionKey),
          new Map(settings.previousKeys.map((k) => [k.version, decodeKey(k.key)])),
        );
  const aad = (endpointId: string, field: SecretField) => `webhook_endpoints:${endpointId}:${field}`;
  return {
    encrypting: sealer !== undefined,
    seal(value, endpointId, field) {
      return sealer === undefined ? value : SEALED + sealer.seal(value, aad(endpointId, field));
    },
    open(stored, endpointId, field) {
      if (!stored.startsWith(SEALED)) return stored;
      const opened = sealer?.open(stored.slice(SEALED.length), aad(endpointId, field));
      if (opened === undefined) {
        const why =
          sealer === undefined
            ? 'it is encrypted and webhooks.encryptionKey is not set'
            : 'neither webhooks.encryptionKey nor a previous key opens it (wrong key, or a row copied from another endpoint)';
        throw new JunctionError(
          WebhookSecretUnreadable,
          `the ${field} of endpoint ${endpointId} cannot be read: ${why}`,
        );
      }
      return opened;
    },
  };
}
