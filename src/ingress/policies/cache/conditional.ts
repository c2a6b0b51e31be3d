/**
 * Conditional requests answered from the cache (RFC 9111 §4.3.2): a client that already holds the
 * stored representation gets 304 instead of the body. If-None-Match uses weak comparison and, when
 * present, If-Modified-Since is ignored (RFC 9110 §13.1.2, §13.1.3, §13.2.2).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CacheEntry } from './entry.ts';
import { httpDate } from './freshness.ts';

function opaqueTag(tag: string): string {
  const t = tag.trim();
  return t.startsWith('W/') ? t.slice(2) : t;
}

export function notModified(request: IncomingHttpHeaders, entry: CacheEntry): boolean {
  if (entry.status !== 200) return false;
  const inm = request['if-none-match'];
  if (inm !== undefined) {
    const etag = entry.headers.etag;
    if (etag === undefined) return false;
    if (inm.trim() === '*') return true;
    const stored = opaqueTag(Array.isArray(etag) ? etag[0]! : etag);
    return inm.split(',').some((t) => opaqueTag(t) === stored);
  }
  const since = httpDate(request['if-modified-since']);
  const modified = httpDate(entry.headers['last-modified']);
  return since !== undefined && modified !== undefined && modified <= since;
}
