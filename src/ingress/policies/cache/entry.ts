/**
 * What the cache stores for one response variant, and the header rules for storing it: a shared
 * cache keeps the end-to-end fields only (RFC 9111 §3.1) and updates them from a 304 (§3.2, §4.3.4).
 */
import { initialAgeMs } from './freshness.ts';

export type StoredHeaders = Record<string, string | string[]>;

export interface CacheEntry {
  status: number;
  headers: StoredHeaders;
  body: Buffer;
  /** `response_time` (RFC 9111 §4.2.3), ms since the epoch: wall clock, since nodes share entries. */
  storedAt: number;
  /** `corrected_initial_age` in ms, fixed when the response arrived. */
  initialAgeMs: number;
  /** The `Vary` field names this variant was selected by (sorted, lowercase). */
  vary: string[];
}

/**
 * Not stored: hop-by-hop fields (RFC 9110 §7.6.1) and those named in `Connection`; `Age`, which is
 * computed again on every hit (§5.1); `Set-Cookie`, which belongs to one client. Content-Length is
 * kept from the origin; the body stored is exactly the one it describes.
 */
const UNSTORED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'age',
  'set-cookie',
]);

function connectionNamed(headers: Readonly<Record<string, string | string[] | undefined>>): Set<string> {
  const v = headers.connection;
  const text = Array.isArray(v) ? v.join(',') : (v ?? '');
  return new Set(
    text
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

export function storableHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): StoredHeaders {
  const named = connectionNamed(headers);
  const out: StoredHeaders = {};
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || UNSTORED.has(name) || named.has(name)) continue;
    out[name] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}

export function newEntry(
  status: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  body: Buffer,
  vary: string[],
  requestTime: number,
  responseTime: number,
): CacheEntry {
  return {
    status,
    headers: storableHeaders(headers),
    body,
    storedAt: responseTime,
    initialAgeMs: initialAgeMs(headers, requestTime, responseTime),
    vary,
  };
}

/**
 * The entry as freshened by a 304 (RFC 9111 §4.3.4): every field of the 304 replaces the stored one
 * except Content-Length (the 304 has no body to describe, §3.2) and the unstored ones. Its age starts
 * again from the 304, which is the newer response.
 */
export function freshened(
  entry: CacheEntry,
  notModified: Readonly<Record<string, string | string[] | undefined>>,
  requestTime: number,
  responseTime: number,
): CacheEntry {
  const update = storableHeaders(notModified);
  delete update['content-length'];
  return {
    ...entry,
    headers: { ...entry.headers, ...update },
    storedAt: responseTime,
    initialAgeMs: initialAgeMs(notModified, requestTime, responseTime),
  };
}

/** Bytes an entry costs in memory, for the LRU budget: the body plus its headers' text. */
export function entrySize(entry: CacheEntry): number {
  let size = entry.body.length + 64;
  for (const name in entry.headers) {
    const v = entry.headers[name]!;
    size += name.length + 4 + (Array.isArray(v) ? v.reduce((n, s) => n + s.length + 4, 0) : v.length);
  }
  return size;
}
