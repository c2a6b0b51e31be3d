/**
 * From verified claims (RFC 7519 §4) to what the rest of the gateway reads: the principal, the list
 * claims (roles, scopes) and the header values forwarded upstream.
 */
import type { Principal } from '../../../core/principal.ts';

/**
 * A claim by name, or by dotted path into nested objects (`realm_access.roles`, Keycloak). A claim
 * whose own name has dots (`https://example.com/roles`, Auth0's namespaced claims) is found as is.
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let at: unknown = claims;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** An array of strings, or one space-separated string (`scope`, RFC 8693 §4.2); else empty. */
export function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

export interface PrincipalClaims {
  rolesClaim: string;
  scopesClaim: string;
  tenantClaim: string;
}

/** `sub` is required before this is called (jwtVerify's `requiredClaims`). */
export function principalOf(claims: Record<string, unknown>, cfg: PrincipalClaims): Principal {
  const tenant = claimAt(claims, cfg.tenantClaim);
  // `scp` (an array, Azure AD and RFC 9068 profiles) when `scope` is configured but absent.
  const scopes = claimAt(claims, cfg.scopesClaim) ?? (cfg.scopesClaim === 'scope' ? claims.scp : undefined);
  return {
    kind: 'jwt',
    id: String(claims.sub),
    roles: stringList(claimAt(claims, cfg.rolesClaim)),
    scopes: stringList(scopes),
    ...(typeof tenant === 'string' || typeof tenant === 'number' ? { tenant: String(tenant) } : {}),
    attributes: claims,
  };
}

/**
 * A claim as a header value: strings as they are, lists comma-joined (RFC 9110 §5.3), objects as
 * JSON. Anything outside visible ASCII is percent-encoded, so a claim can neither split the header
 * (CR/LF) nor make Node refuse it; `undefined` when the claim is absent.
 */
export function headerValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text =
    typeof value === 'string'
      ? value
      : Array.isArray(value)
        ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',')
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
  return /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text);
}
