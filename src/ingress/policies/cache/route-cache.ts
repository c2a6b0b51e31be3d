/**
 * What one route's cache policy holds (built once in `create`), the per-request slot its phases
 * share, and the two ways a stored entry becomes an answer: an `Answer` from `onRequest` (hits) or an
 * `UpstreamResponse` from `onResponse` (revalidated, stale-if-error).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Answer, UpstreamResponse } from '../../../core/policy.ts';
import type { Lead } from './coalesce.ts';
import { notModified } from './conditional.ts';
import type { CacheEntry } from './entry.ts';
import { currentAgeMs, type StoreRules } from './freshness.ts';
import type { KeyOptions } from './key.ts';
import type { RouteCounters } from './metrics.ts';
import type { CacheConfig } from './schema.ts';
import { type Forward, type Status, withStatus } from './status.ts';
import type { SharedStore } from './stores.ts';

export interface RouteCache {
  config: CacheConfig;
  shared: SharedStore;
  counters: RouteCounters;
  rules: StoreRules;
  keyOptions: KeyOptions;
  /** This process's background-refresh token (refresh.ts). */
  token: string;
}

export interface CacheSlot {
  /**
   * - `lookup`: a GET/HEAD the cache may answer or store (a miss, or a stale entry to revalidate);
   * - `pass`: relayed without storing (bypassed, or HEAD), only the status headers are added;
   * - `refresh`: this gateway's own background refresh (refresh.ts);
   * - `unsafe`: POST/PUT/PATCH/DELETE…, which invalidates on success (RFC 9111 §4.4).
   */
  mode: 'lookup' | 'pass' | 'refresh' | 'unsafe';
  uri: string;
  primary: string;
  /** The key looked up (and coalesced on); the stored key follows the response's Vary. */
  key: string;
  /** Stored entry being revalidated, and the stale-if-error fallback. */
  stale: CacheEntry | undefined;
  /** Validators from `stale` went upstream, so a 304 refers to it. */
  validating: boolean;
  fwd: Forward;
  /** Status to report for `pass`. */
  status: Status | undefined;
  /** Wall-clock `request_time` (RFC 9111 §4.2.3). */
  requestTime: number;
  authorized: boolean;
  collapsed: boolean;
  lead: Lead | undefined;
  /** A body is being copied to the store; its end releases the lead, not `onLog`. */
  storing: boolean;
  /** The copy is complete or abandoned (set by the tee); until then the store write is pending. */
  teeSettled: boolean;
  counted: boolean;
}

declare module '../../../core/policy.ts' {
  interface ContextSlots {
    cache: CacheSlot;
  }
}

export function newSlot(
  mode: CacheSlot['mode'],
  uri: string,
  primary: string,
  authorized: boolean,
): CacheSlot {
  return {
    mode,
    uri,
    primary,
    key: primary,
    stale: undefined,
    validating: false,
    fwd: 'uri-miss',
    status: undefined,
    requestTime: Date.now(),
    authorized,
    collapsed: false,
    lead: undefined,
    storing: false,
    teeSettled: false,
    counted: false,
  };
}

export function count(rc: RouteCache, slot: CacheSlot | undefined, status: Status): void {
  if (slot !== undefined) {
    if (slot.counted) return;
    slot.counted = true;
  }
  rc.counters.count(status.result);
}

function entryHeaders(
  rc: RouteCache,
  entry: CacheEntry,
  now: number,
  status: Status,
): Record<string, string | string[]> {
  // Age on every answer from the cache (RFC 9111 §5.1), in whole seconds.
  const headers: Record<string, string | string[]> = {
    ...entry.headers,
    age: String(Math.floor(currentAgeMs(entry, now) / 1000)),
  };
  if (headers['content-length'] === undefined) headers['content-length'] = String(entry.body.length);
  return withStatus(headers, rc.config.cacheStatus.style, rc.config.cacheStatus.name, status);
}

/** A stored entry as the answer to this request: 304 when the client already has it. */
export function answerFromEntry(
  rc: RouteCache,
  request: IncomingHttpHeaders,
  entry: CacheEntry,
  now: number,
  status: Status,
): Answer {
  const headers = entryHeaders(rc, entry, now, status);
  if (notModified(request, entry)) return { status: 304, headers, body: null };
  return { status: entry.status, headers, body: entry.body };
}

/** The same, as the response `onResponse` hands on; `extra` adds fields meant for this client only. */
export function responseFromEntry(
  rc: RouteCache,
  method: string,
  request: IncomingHttpHeaders,
  entry: CacheEntry,
  now: number,
  status: Status,
  extra?: Record<string, string | string[]>,
): UpstreamResponse {
  const headers = { ...entryHeaders(rc, entry, now, status), ...extra };
  if (notModified(request, entry)) return { status: 304, headers, body: null };
  const body = method === 'HEAD' ? null : Readable.from([entry.body]);
  return { status: entry.status, headers, body };
}

/** The upstream's response with the cache's status fields added. */
export function withStatusOf(rc: RouteCache, res: UpstreamResponse, status: Status): UpstreamResponse {
  const { style, name } = rc.config.cacheStatus;
  return { ...res, headers: withStatus(res.headers, style, name, status) };
}
