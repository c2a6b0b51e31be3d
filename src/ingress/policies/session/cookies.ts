/**
 * The session's cookies. The browser holds only an opaque 256-bit id; tokens stay on the gateway
 * (the Backend-for-Frontend pattern of the IETF "OAuth 2.0 for Browser-Based Applications" draft,
 * §6.1). `__Host-` names make the browser insist on `Secure`, `Path=/` and no `Domain`, so a sibling
 * subdomain cannot plant or overwrite them (RFC 6265bis §4.1.3.2); `HttpOnly` keeps them from
 * scripts (OWASP Session Management Cheat Sheet). `SameSite=Lax`, not `Strict`: the provider's
 * redirect back to the callback is a cross-site navigation that must carry the login cookie.
 */
import { parseCookie, stringifySetCookie } from 'cookie';
import type { RequestContext } from '../../../core/policy.ts';

export function readCookie(ctx: RequestContext, name: string): string | undefined {
  const header = ctx.headers.cookie;
  if (header === undefined || !header.includes(name)) return undefined;
  return parseCookie(header)[name];
}

/** `maxAgeS` undefined: a browser-session cookie; 0: delete it. */
export function setCookie(name: string, value: string, maxAgeS?: number): string {
  return stringifySetCookie({
    name,
    value,
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'lax',
    ...(maxAgeS === undefined ? {} : { maxAge: maxAgeS }),
  });
}

export function clearCookie(name: string): string {
  return setCookie(name, '', 0);
}

/**
 * The client's `Cookie` header without the gateway's own cookies: the upstream gets the user's
 * identity from the gateway's headers, never the session id itself. Empty means "drop the header".
 */
export function cookiesForUpstream(ctx: RequestContext, own: readonly string[]): string | undefined {
  const header = ctx.headers.cookie;
  if (header === undefined || !own.some((n) => header.includes(n))) return undefined;
  return header
    .split(';')
    .filter((pair) => !own.includes(pair.slice(0, pair.indexOf('=')).trim()))
    .map((pair) => pair.trim())
    .join('; ');
}
