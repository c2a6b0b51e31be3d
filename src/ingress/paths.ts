/**
 * Request-target normalization before routing. A gateway that routes `/public/../admin` as
 * `/public/*` and forwards it raw lets the upstream resolve it to `/admin` — the classic
 * path-confusion bypass (CVE-2021-22945-style; Envoy's `normalize_path`). Dot segments are resolved
 * per RFC 3986 §5.2.4, including their percent-encoded forms, and a path that climbs above the root
 * is refused.
 */
import { BadRequest, JunctionError } from '../core/errors.ts';

const SUSPECT = /\/\.|%2e|\\/i;

/** Origin-form path for routing and forwarding; throws 400 for targets that are not one. */
export function normalizeTarget(url: string | undefined): string {
  if (url === undefined || url === '') throw new JunctionError(BadRequest, 'empty request target');
  let target = url;
  if (target[0] !== '/') {
    // Absolute-form (RFC 9112 §3.2.2) is what clients send to forward proxies; take its path.
    if (!/^https?:\/\//i.test(target) || !URL.canParse(target)) {
      throw new JunctionError(BadRequest, 'request target must be a path (origin-form)');
    }
    const u = new URL(target);
    target = u.pathname + u.search;
  }
  if (target.length > 1 && target[1] === '/')
    throw new JunctionError(BadRequest, 'request target must not start with //');
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (!SUSPECT.test(path)) return target;
  if (path.includes('\\')) throw new JunctionError(BadRequest, 'backslash in request path');
  return removeDotSegments(path.replace(/%2e/gi, '.')) + (q === -1 ? '' : target.slice(q));
}

/**
 * The authority of an absolute-form target (`GET http://shop.example/x`), which replaces the Host
 * field (RFC 9112 §3.2.2) so routing and forwarding see the same host; undefined for origin-form.
 * Call after `normalizeTarget` accepted the target.
 */
export function absoluteFormAuthority(url: string | undefined): string | undefined {
  if (url === undefined || url[0] === '/' || !URL.canParse(url)) return undefined;
  return new URL(url).host;
}

function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '.') {
      if (i === segments.length - 1) out.push('');
    } else if (s === '..') {
      if (out.length === 0) throw new JunctionError(BadRequest, 'request path climbs above the root');
      out.pop();
      if (i === segments.length - 1) out.push('');
    } else {
      out.push(s);
    }
  }
  return `/${out.join('/')}`;
}
