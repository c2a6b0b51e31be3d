/**
 * The parts of a request that identify it for `core.idempotency`: the client's key, whose key it
 * is (scope), and what was asked (fingerprint).
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../../core/policy.ts';

export const MAX_KEY_LENGTH = 255;

const BARE = /^[\x20-\x7e]+$/;
/** RFC 8941 §3.3.3 sf-string: printable ASCII with `"` and `\` escaped by a backslash. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/**
 * The key from `Idempotency-Key`: `undefined` when absent, `null` when malformed. The IETF draft
 * (§2.1) makes the field an RFC 8941 String, so `"8e03…"` is the conformant form; Stripe's clients
 * send the bare value, so both are accepted and mean the same key. Stripe allows up to 255
 * characters; the draft asks servers to validate the key (§6). Two fields are one too many.
 */
export function parseKey(values: string[] | undefined): string | null | undefined {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) return null;
  const raw = values[0]!;
  let key = raw;
  if (raw.startsWith('"')) {
    const m = SF_STRING.exec(raw);
    if (m === null) return null;
    key = m[1]!.replace(/\\(["\\])/g, '$1');
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !BARE.test(key)) return null;
  return key;
}

/**
 * Whose key it is. The draft (§6) warns that a guessable key could reveal another client's stored
 * response, so keys live in the caller's scope: its principal (src/core/principal.ts), else its
 * address, else — when configured — one scope shared by every anonymous caller.
 */
export function scopeOf(ctx: RequestContext, anonymous: 'ip' | 'none'): string {
  const principal = ctx.slots.principal?.id;
  if (principal !== undefined) return `p:${principal}`;
  return anonymous === 'ip' ? `ip:${ctx.clientIp}` : 'anonymous';
}

/**
 * SHA-256 over method, target and body (draft §2.3: "a checksum of the entire request payload").
 * Stripe compares the parameters of a reused key the same way and refuses a different request.
 */
export function fingerprintOf(method: string, target: string, body: Buffer): string {
  return createHash('sha256').update(`${method} ${target}\n`).update(body).digest('base64url');
}
