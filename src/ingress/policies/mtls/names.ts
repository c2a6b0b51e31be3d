/**
 * SPIFFE ids and the name patterns of `auth.mtls` (allow lists and role mappings).
 *
 * SPIFFE ID spec §2: `spiffe://<trust domain>/<path>`; the trust domain is lower-case letters,
 * digits, `.`, `-`, `_`; path segments are letters, digits, `.`, `-`, `_`, none empty, `.` or `..`;
 * no port, user info, query or fragment; 2048 bytes at most. X.509-SVID spec §2: an SVID carries
 * exactly one URI SAN, which is its SPIFFE id; a certificate with several is no SVID.
 */

const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** Schema pattern of an allow or role entry for SPIFFE ids: exact, or `…/*` for everything under a path. */
export const SPIFFE_PATTERN = '^spiffe://[a-z0-9._-]+(/[A-Za-z0-9._-]+)*(/\\*)?$';

export function isSpiffeId(uri: string): boolean {
  return (
    uri.length <= 2048 &&
    SPIFFE_ID.test(uri) &&
    !uri
      .slice('spiffe://'.length)
      .split('/')
      .some((s) => s === '.' || s === '..')
  );
}

/** The certificate's SPIFFE id: its URI SAN when it has exactly one and that is a valid SPIFFE id. */
export function spiffeIdOf(uris: readonly string[]): string | undefined {
  return uris.length === 1 && isSpiffeId(uris[0]!) ? uris[0] : undefined;
}

export type NameMatcher = (name: string) => boolean;

/**
 * One allow-list or role-mapping entry as a predicate:
 * - `spiffe://td/ns/*` (any URI ending in `/*`): every name under that path, not the path itself;
 * - `*.internal.example`: DNS names one label below (RFC 6125 §6.4.3), case-insensitive;
 * - anything else: that exact name (host names case-insensitive, RFC 4343).
 *
 * @example
 * nameMatcher('spiffe://acme.test/ns/*')('spiffe://acme.test/ns/billing') // true
 */
export function nameMatcher(pattern: string): NameMatcher {
  if (pattern.endsWith('/*') && pattern.includes('://')) {
    const prefix = pattern.slice(0, -1);
    return (name) => name.length > prefix.length && name.startsWith(prefix);
  }
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1).toLowerCase();
    return (name) => {
      const n = name.toLowerCase();
      return n.endsWith(suffix) && n.length > suffix.length && !n.slice(0, -suffix.length).includes('.');
    };
  }
  if (HOSTNAME.test(pattern)) {
    const lower = pattern.toLowerCase();
    return (name) => name.toLowerCase() === lower;
  }
  return (name) => name === pattern;
}

const HOSTNAME = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;

/** Any of the patterns. */
export function anyOf(patterns: readonly string[]): NameMatcher {
  const matchers = patterns.map(nameMatcher);
  return (name) => matchers.some((m) => m(name));
}
