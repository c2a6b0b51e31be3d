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
  const site = ctx.headers['sec-fetch-site'];
  if (origin !== undefined) {
    if (origin === ownOrigin || allowed.has(origin)) return undefined;
    if (origin !== 'null') return 'origin_mismatch';
    // `null` is what sandboxed frames, data: URLs and some redirects send, and also what Chromium
    // sends for a page's own form POST under `Referrer-Policy: no-referrer` (the security.headers
    // default). Only the browser's own Fetch Metadata can tell them apart: a sandboxed frame or a
    // foreign page gets `cross-site`, a page cannot set `same-origin` itself (Fetch Metadata §2).
    return site === 'same-origin' ? undefined : 'origin_null';
  }
  // `same-site` is a sibling subdomain, which may be hostile: only an allowed Origin lets it in.
  if (site === 'cross-site' || site === 'same-site') return `fetch_site_${site}`;
  return undefined;
}

export function ownOrigin(ctx: RequestContext): string {
  return `${ctx.protocol}://${ctx.host}`;
}
