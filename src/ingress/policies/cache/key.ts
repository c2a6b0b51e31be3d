/**
 * Cache keys (RFC 9111 §2, §4.1). The primary key is the target URI the client asked for (scheme,
 * host, path and, unless configured off, the query) plus any request headers the route adds to it.
 * The response's `Vary` then picks a variant: the secondary key is the request's values of the
 * fields it names. Invalidation (§4.4) works per URI, so every key also knows its URI.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface KeyOptions {
  query: boolean;
  /** Request header names (lowercase) that are part of the primary key. */
  headers: readonly string[];
}

export interface RequestTarget {
  protocol: string;
  host: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
}

/** Marks an absent field, so `Vary: accept-language` keeps "no header" apart from an empty one. */
const ABSENT = '\u0001';
const SEP = '\u0000';

/** Scheme and host are case-insensitive (RFC 3986 §6.2.2.1); the path and query are not. */
export function uriOf(target: RequestTarget, includeQuery: boolean): string {
  return `${target.protocol}://${target.host.toLowerCase()}${target.path}${includeQuery ? target.query : ''}`;
}

/**
 * A field's value as a key component, normalized the way RFC 9111 §4.1 allows: list members trimmed
 * and rejoined, so `en,de` and `en, de` select the same variant. Case is kept: field values can be
 * case-sensitive.
 */
export function fieldValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  if (v === undefined) return ABSENT;
  const text = Array.isArray(v) ? v.join(',') : v;
  return text
    .split(',')
    .map((s) => s.trim().replace(/\s+/g, ' '))
    .join(',');
}

export function primaryKey(uri: string, target: RequestTarget, options: KeyOptions): string {
  if (options.headers.length === 0) return uri;
  let key = uri;
  for (const name of options.headers) key += SEP + fieldValue(target.headers, name);
  return key;
}

/** The variant's key: the primary key plus the request's values of the `Vary` fields. */
export function variantKey(primary: string, vary: readonly string[], headers: IncomingHttpHeaders): string {
  if (vary.length === 0) return primary;
  let key = `${primary}${SEP}${SEP}`;
  for (const name of vary) key += `${name}=${fieldValue(headers, name)}${SEP}`;
  return key;
}

/**
 * URIs an unsafe request invalidates (RFC 9111 §4.4): its own, and those in `Location` and
 * `Content-Location` when they share its origin — another origin's entries are not ours to drop.
 */
export function invalidationUris(
  requestUri: string,
  location: string | undefined,
  contentLocation: string | undefined,
  includeQuery: boolean,
): string[] {
  const uris = [requestUri];
  const base = new URL(requestUri);
  for (const ref of [location, contentLocation]) {
    if (ref === undefined) continue;
    let u: URL;
    try {
      u = new URL(ref, base);
    } catch {
      continue;
    }
    if (u.origin !== base.origin) continue;
    const uri = `${u.protocol}//${u.host.toLowerCase()}${u.pathname}${includeQuery ? u.search : ''}`;
    if (!uris.includes(uri)) uris.push(uri);
  }
  return uris;
}
