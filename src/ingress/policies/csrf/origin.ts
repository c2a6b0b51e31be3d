/**
 * Where an unsafe request comes from, by the headers a browser sets and a page cannot forge: `Origin`
 * (RFC 6454 §7, sent on every cross-origin and every POST request) and Fetch Metadata's
 * `Sec-Fetch-Site` (W3C Fetch Metadata Request Headers). OWASP's CSRF Prevention Cheat Sheet lists
 * both ("Verifying Origin With Standard Headers", "Fetch Metadata headers") as defence in depth
 * beside a token. A request with neither (an old browser, a non-browser client) is left to the token.
 */
import type { RequestContext } from '../../../core/policy.ts';

/** Why the request looks cross-site, or undefined when it does not. */
export function crossSiteReason(
  ctx: RequestContext,
  ownOrigin: string,
  allowed: ReadonlySet<string>,
): string | undefined {
  const origin = ctx.headers.origin;
  if (origin !== undefined) {
    // `null` is what sandboxed frames, data: URLs and some redirects send: never trusted.
    if (origin === ownOrigin || allowed.has(origin)) return undefined;
    return origin === 'null' ? 'origin_null' : 'origin_mismatch';
  }
  const site = ctx.headers['sec-fetch-site'];
  // `same-site` is a sibling subdomain, which may be hostile: only an allowed Origin lets it in.
  if (site === 'cross-site' || site === 'same-site') return `fetch_site_${site}`;
  return undefined;
}

export function ownOrigin(ctx: RequestContext): string {
  return `${ctx.protocol}://${ctx.host}`;
}
