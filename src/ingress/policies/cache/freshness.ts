/**
 * Freshness and age (RFC 9111 §4.2) and the stale extensions (RFC 5861), as pure functions of the
 * stored headers and the times the cache recorded: no clock is read here, so tests pass `now`.
 *
 * Junction is a shared cache, so `s-maxage` wins over `max-age` (§4.2.1) and also implies
 * `proxy-revalidate` (§5.2.2.10).
 */
import { type Directives, deltaSeconds, parseCacheControl, varyNames } from './directives.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface Lifetime {
  /** Freshness lifetime in ms (§4.2.1); 0 for "stale at once". */
  lifetimeMs: number;
  /** True when the response states its freshness (s-maxage, max-age or Expires). */
  explicit: boolean;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept. */
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * An HTTP-date in ms, or undefined when absent or not a date. `Date.parse` alone is too lenient:
 * it reads `Expires: 0` as the year 2000, where RFC 9111 §5.3 means "already expired".
 */
export function httpDate(v: string | string[] | undefined): number | undefined {
  const s = one(v)?.trim();
  if (s === undefined) return undefined;
  let t = Number.NaN;
  if (IMF_FIXDATE.test(s) || RFC850_DATE.test(s)) t = Date.parse(s);
  else if (ASCTIME_DATE.test(s)) t = Date.parse(`${s} GMT`); // asctime has no zone; HTTP means GMT
  return Number.isNaN(t) ? undefined : t;
}

/**
 * RFC 9111 §4.2.1: s-maxage, else max-age, else Expires minus Date; `defaultMs` stands in for a
 * heuristic (§4.2.2) when the response says nothing. An Expires that is not a date (`Expires: 0`)
 * means "already expired" (§5.3).
 */
export function freshnessLifetime(headers: Headers, cc: Directives, defaultMs: number): Lifetime {
  const shared = deltaSeconds(cc, 's-maxage');
  if (shared !== undefined) return { lifetimeMs: shared * 1000, explicit: true };
  const maxAge = deltaSeconds(cc, 'max-age');
  if (maxAge !== undefined) return { lifetimeMs: maxAge * 1000, explicit: true };
  if (headers.expires !== undefined) {
    const expires = httpDate(headers.expires);
    if (expires === undefined) return { lifetimeMs: 0, explicit: true };
    // Expires is compared with the origin's own Date, not our clock: clock skew cancels out.
    const date = httpDate(headers.date) ?? expires;
    return { lifetimeMs: Math.max(0, expires - date), explicit: true };
  }
  return { lifetimeMs: defaultMs, explicit: false };
}

/**
 * `corrected_initial_age` of RFC 9111 §4.2.3, in ms, from the response's Age and Date and the
 * times the request left and the response arrived. Date has one-second resolution, so the apparent
 * age is taken in whole seconds as the RFC does (otherwise a response would look up to 999 ms old
 * the moment it arrives).
 */
export function initialAgeMs(headers: Headers, requestTime: number, responseTime: number): number {
  const age = one(headers.age)?.trim();
  // A malformed Age is ignored (RFC 9111 §5.1), not taken as zero-or-stale.
  const ageValue = age !== undefined && /^\d+$/.test(age) ? Math.min(Number(age), 2_147_483_648) : 0;
  const date = httpDate(headers.date);
  const apparent = date === undefined ? 0 : Math.max(0, Math.floor(responseTime / 1000) * 1000 - date);
  const correctedAgeValue = ageValue * 1000 + Math.max(0, responseTime - requestTime);
  return Math.max(apparent, correctedAgeValue);
}

/** `current_age` (§4.2.3): the initial age plus the time the entry has been resident. */
export function currentAgeMs(entry: { initialAgeMs: number; storedAt: number }, now: number): number {
  return entry.initialAgeMs + Math.max(0, now - entry.storedAt);
}

/** What a stored response allows, read from its (possibly refreshed) headers. */
export interface Policy {
  lifetimeMs: number;
  explicit: boolean;
  /** no-cache (§5.2.2.4): may be stored, never served without validation. */
  noCache: boolean;
  /** must-revalidate, proxy-revalidate or s-maxage: never served stale (§5.2.2.2, §5.2.2.8). */
  mustRevalidate: boolean;
  /** RFC 5861 windows after the response became stale, in ms. */
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  /** May answer requests carrying Authorization (§3.5): public, s-maxage or must-revalidate. */
  sharedWithAuth: boolean;
  hasValidator: boolean;
}

export function responsePolicy(headers: Headers, defaultTtlMs: number): Policy {
  const cc = parseCacheControl(headers['cache-control']);
  const { lifetimeMs, explicit } = freshnessLifetime(headers, cc, defaultTtlMs);
  const sMaxage = cc.has('s-maxage');
  const mustRevalidate = cc.has('must-revalidate') || cc.has('proxy-revalidate') || sMaxage;
  // A qualified no-cache="field" is treated as the unqualified form, the safe reading (§5.2.2.4).
  const noCache = cc.has('no-cache');
  return {
    lifetimeMs: noCache ? 0 : lifetimeMs,
    explicit,
    noCache,
    mustRevalidate,
    staleWhileRevalidateMs: mustRevalidate ? 0 : (deltaSeconds(cc, 'stale-while-revalidate') ?? 0) * 1000,
    staleIfErrorMs: mustRevalidate ? 0 : (deltaSeconds(cc, 'stale-if-error') ?? 0) * 1000,
    sharedWithAuth: cc.has('public') || sMaxage || cc.has('must-revalidate'),
    hasValidator: headers.etag !== undefined || headers['last-modified'] !== undefined,
  };
}

export interface StoreDecision {
  /** Why a response is not stored (also the `detail` of Cache-Status), or undefined when it is. */
  refused: string | undefined;
  policy: Policy;
  /** How long to keep the entry: fresh time plus the longest stale window that can still use it. */
  retainMs: number;
}

export interface StoreRules {
  statuses: ReadonlySet<number>;
  defaultTtlMs: number;
  keepStaleMs: number;
}

/**
 * Whether a response may be stored by a shared cache (RFC 9111 §3), stricter where gateways are:
 * no Set-Cookie (Varnish and Fastly pass those by default: one user's session must not be served to
 * the next), and nothing without explicit freshness unless `defaultTtlMs` is set.
 */
export function storeDecision(
  status: number,
  headers: Headers,
  authorized: boolean,
  rules: StoreRules,
): StoreDecision {
  const policy = responsePolicy(headers, rules.defaultTtlMs);
  const stale = Math.max(
    policy.staleWhileRevalidateMs,
    policy.staleIfErrorMs,
    policy.hasValidator ? rules.keepStaleMs : 0,
  );
  const retainMs = policy.lifetimeMs + stale;
  return { refused: refusal(status, headers, authorized, rules, policy, retainMs), policy, retainMs };
}

function refusal(
  status: number,
  headers: Headers,
  authorized: boolean,
  rules: StoreRules,
  policy: Policy,
  retainMs: number,
): string | undefined {
  const cc = parseCacheControl(headers['cache-control']);
  if (!rules.statuses.has(status)) return 'status';
  if (cc.has('no-store')) return 'no-store'; // §5.2.2.5
  if (cc.has('private')) return 'private'; // §5.2.2.7: not for shared caches
  if (headers['set-cookie'] !== undefined) return 'set-cookie';
  if (varyNames(headers.vary)[0] === '*') return 'vary-star'; // §4.1
  if (authorized && !policy.sharedWithAuth) return 'authorization'; // §3.5
  if (policy.noCache && !policy.hasValidator) return 'no-cache-without-validator';
  if (!policy.explicit && !policy.noCache && rules.defaultTtlMs === 0) return 'no-freshness';
  if (retainMs <= 0) return 'stale-at-once';
  return undefined;
}

export interface Assessment {
  ageMs: number;
  /** Remaining freshness in ms; negative once stale (RFC 9211 `ttl`). */
  ttlMs: number;
  fresh: boolean;
  /** May be served stale while one request refreshes it (RFC 5861 §3). */
  serveWhileRevalidate: boolean;
  /** May be served stale when the upstream fails (RFC 5861 §4). */
  serveIfError: boolean;
  policy: Policy;
}

/**
 * How a stored entry stands at `now`. `requestMaxAgeMs` is the client's `max-age` request
 * directive (§5.2.1.1): an entry older than that is not fresh enough for this request.
 */
export function assess(
  entry: { headers: Headers; initialAgeMs: number; storedAt: number },
  now: number,
  defaultTtlMs: number,
  requestMaxAgeMs?: number,
): Assessment {
  const policy = responsePolicy(entry.headers, defaultTtlMs);
  const ageMs = currentAgeMs(entry, now);
  const ttlMs = policy.lifetimeMs - ageMs;
  const staleness = -ttlMs;
  const fresh = ttlMs > 0 && (requestMaxAgeMs === undefined || ageMs <= requestMaxAgeMs);
  return {
    ageMs,
    ttlMs,
    fresh,
    // A client's max-age is a limit on what it accepts, stale-while-revalidate included.
    serveWhileRevalidate:
      ttlMs <= 0 &&
      requestMaxAgeMs === undefined &&
      !policy.noCache &&
      staleness <= policy.staleWhileRevalidateMs,
    serveIfError: !policy.noCache && staleness <= policy.staleIfErrorMs,
    policy,
  };
}
