/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1.0.0 "Signature scheme"),
 * as Svix sends them: `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, the
 * key being the base64-decoded secret after its `whsec_` prefix. With several secrets (a rotation in
 * progress) every one signs and the signatures are space-separated, so a receiver holding either the
 * old or the new secret accepts the message.
 *
 * A `whsk_` key (spec "Asymmetric signatures": base64 of a 32-byte Ed25519 private key seed, RFC 8032)
 * adds `v1a,<base64 Ed25519 signature>` over the same content; the receiver holds only the `whpk_`
 * public key (32 bytes, RFC 8032 §5.1.5), so a leaked receiver config cannot forge messages.
 *
 * Written here rather than taken from `standardwebhooks`: that package signs strings only (it turns a
 * Buffer into UTF-8 text, which corrupts binary bodies) and one secret at a time. Tests verify our
 * signatures with it.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

const PREFIX = 'whsec_';
const SIGNING_PREFIX = 'whsk_';
const PUBLIC_PREFIX = 'whpk_';
/** RFC 8410 PKCS #8 header of an Ed25519 private key; the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** Spec "Symmetric signatures": secrets are 24 to 64 random bytes. */
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export interface WebhookSigner {
  /** `v1,<sig>` for each secret (`v1a,<sig>` for a `whsk_` key), space-separated; `timestamp` in Unix seconds. */
  sign(id: string, timestamp: number, body: Uint8Array | string): string;
  /** The three headers for one message, stamped with `now` (epoch ms). */
  headers(id: string, body: Uint8Array | string, now?: number): SignatureHeaders;
}

/**
 * Builds a signer from one or more `whsec_` secrets (newest first, by convention) and `whsk_` signing
 * keys. Throws a TypeError on a secret that is not `whsec_` + base64 of 24 to 64 bytes (a short key
 * makes the HMAC guessable) or a `whsk_` key that is not 32 bytes.
 *
 * @example
 * const signer = createSigner([process.env.ENDPOINT_SECRET!]);
 * const headers = signer.headers('evt_039RMK8QR0000', body); // webhook-id, -timestamp, -signature
 */
export function createSigner(secrets: readonly string[]): WebhookSigner {
  if (secrets.length === 0) throw new TypeError('a webhook signer needs at least one secret');
  const keys = secrets.map((s) => (s.startsWith(SIGNING_PREFIX) ? decodeSigningKey(s) : decodeSecret(s)));
  const sign = (id: string, timestamp: number, body: Uint8Array | string): string => {
    checkId(id);
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new TypeError(`webhook timestamp must be whole Unix seconds, got ${timestamp}`);
    }
    const prefix = `${id}.${timestamp}.`;
    return keys
      .map((key) => {
        if (Buffer.isBuffer(key)) {
          return `v1,${createHmac('sha256', key).update(prefix).update(body).digest('base64')}`;
        }
        const content = Buffer.concat([
          Buffer.from(prefix),
          typeof body === 'string' ? Buffer.from(body) : body,
        ]);
        return `v1a,${edSign(null, content, key).toString('base64')}`;
      })
      .join(' ');
  };
  return {
    sign,
    headers(id, body, now = Date.now()) {
      const timestamp = Math.floor(now / 1000);
      return {
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': sign(id, timestamp, body),
      };
    },
  };
}

/** A fresh secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/** True for a value that `createSigner` accepts. */
export function isWebhookSecret(value: string): boolean {
  try {
    decodeSecret(value);
    return true;
  } catch {
    return false;
  }
}

/** A fresh Ed25519 signing key: `whsk_` + base64 of a random 32-byte seed. */
export function generateSigningKey(): string {
  return SIGNING_PREFIX + randomBytes(32).toString('base64');
}

/** The `whpk_` public key a receiver verifies `v1a` signatures of this `whsk_` key with. */
export function publicKeyOf(signingKey: string): string {
  const jwk = createPublicKey(decodeSigningKey(signingKey)).export({ format: 'jwk' });
  return PUBLIC_PREFIX + Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

/** True for a `whsk_` key that `createSigner` accepts. */
export function isSigningKey(value: string): boolean {
  try {
    decodeSigningKey(value);
    return true;
  } catch {
    return false;
  }
}

function decodeSigningKey(key: string): KeyObject {
  const body = key.startsWith(SIGNING_PREFIX) ? key.slice(SIGNING_PREFIX.length) : '';
  const seed = /^[A-Za-z0-9+/]{43}=$/.test(body) ? Buffer.from(body, 'base64') : undefined;
  if (seed?.length !== 32)
    throw new TypeError('a webhook signing key must be whsk_ followed by base64 of 32 bytes');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function decodeSecret(secret: string): Buffer {
  const body = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : undefined;
  // Strict base64: Buffer.from silently skips characters that are not base64.
  if (body === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw new TypeError('a webhook secret must be whsec_ followed by base64');
  }
  const key = Buffer.from(body, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new TypeError(
      `a webhook secret must hold ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes, this one has ${key.length}`,
    );
  }
  return key;
}

/**
 * The signed content is `id.timestamp.body`, so an id holding a `.` would let two different messages
 * sign alike; the spec forbids the period in ids for that reason. The id is also a header value.
 */
function checkId(id: string): void {
  if (!/^[\x21-\x2d\x2f-\x7e]{1,255}$/.test(id)) {
    throw new TypeError(
      `webhook id must be 1 to 255 visible ASCII characters without '.', got ${JSON.stringify(id)}`,
    );
  }
}
