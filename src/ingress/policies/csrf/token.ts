/**
 * The signed double-submit token of OWASP's CSRF Prevention Cheat Sheet ("Signed Double-Submit
 * Cookie", its recommended stateless form): `<random>.<HMAC-SHA256(secret, len!binding!random)>`,
 * where the binding is the digest of the session cookie. An attacker who can plant cookies (a
 * sibling subdomain, a network attacker on http) still cannot mint a token for the victim's session
 * without the secret; the `__Host-` cookie prefix makes planting harder in the first place.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function bindingOf(sessionCookie: string | undefined): string {
  return sessionCookie === undefined ? '' : createHash('sha256').update(sessionCookie).digest('base64url');
}

function mac(key: Buffer, binding: string, random: string): string {
  return createHmac('sha256', key).update(`${binding.length}!${binding}!${random}`).digest('base64url');
}

export function mintToken(key: Buffer, binding: string): string {
  const random = randomBytes(32).toString('base64url');
  return `${random}.${mac(key, binding, random)}`;
}

export function tokenValid(key: Buffer, binding: string, token: string | undefined): boolean {
  if (token === undefined || token.length > 256) return false;
  const dot = token.indexOf('.');
  if (dot < 1) return false;
  const expected = Buffer.from(mac(key, binding, token.slice(0, dot)));
  const given = Buffer.from(token.slice(dot + 1));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Header and cookie must carry the same token: a cross-site page can make the browser send the cookie, not read it. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
