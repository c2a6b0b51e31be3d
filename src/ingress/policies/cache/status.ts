/**
 * How the cache reports what it did: RFC 9211 `Cache-Status` and the de-facto `X-Cache`.
 *
 * `Cache-Status` is a list with one member per cache on the path, the one nearest the origin first
 * (RFC 9211 §2): an upstream's value is kept and ours is appended. Parameters used: `hit`,
 * `fwd` (uri-miss, vary-miss, miss, request, stale, bypass, method), `fwd-status`, `ttl` (remaining
 * freshness in seconds, negative when stale), `stored`, `collapsed`, `detail`.
 */

export type CacheResult = 'hit' | 'miss' | 'stale' | 'revalidated' | 'bypass';

export type Forward = 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'bypass' | 'method';

export interface Status {
  result: CacheResult;
  fwd?: Forward;
  fwdStatus?: number;
  ttlMs?: number;
  stored?: boolean;
  collapsed?: boolean;
  detail?: string;
}

export type StatusStyle = 'both' | 'cache-status' | 'x-cache' | 'none';

const X_CACHE: Record<CacheResult, string> = {
  hit: 'HIT',
  miss: 'MISS',
  stale: 'STALE',
  revalidated: 'REVALIDATED',
  bypass: 'BYPASS',
};

/** RFC 9211 §2: an sf-token or sf-string for `detail`. */
function detailValue(s: string): string {
  return /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(s) ? s : `"${s.replace(/["\\]/g, '\\$&')}"`;
}

export function cacheStatusMember(name: string, s: Status): string {
  let v = name;
  if (s.result === 'hit' || s.result === 'stale') {
    if (s.fwd === undefined) v += '; hit';
  }
  if (s.fwd !== undefined) v += `; fwd=${s.fwd}`;
  if (s.fwdStatus !== undefined) v += `; fwd-status=${s.fwdStatus}`;
  if (s.ttlMs !== undefined) v += `; ttl=${Math.floor(s.ttlMs / 1000)}`;
  if (s.stored) v += '; stored';
  if (s.collapsed) v += '; collapsed';
  if (s.detail !== undefined) v += `; detail=${detailValue(s.detail)}`;
  return v;
}

/** Adds the configured status fields to a response's headers (a copy; the input is not changed). */
export function withStatus(
  headers: Record<string, string | string[]>,
  style: StatusStyle,
  name: string,
  s: Status,
): Record<string, string | string[]> {
  if (style === 'none') return headers;
  const out = { ...headers };
  if (style === 'both' || style === 'cache-status') {
    const prior = out['cache-status'];
    const member = cacheStatusMember(name, s);
    const list = prior === undefined ? '' : Array.isArray(prior) ? prior.join(', ') : prior;
    out['cache-status'] = list === '' ? member : `${list}, ${member}`;
  }
  if (style === 'both' || style === 'x-cache') out['x-cache'] = X_CACHE[s.result];
  return out;
}
