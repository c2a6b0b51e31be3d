/**
 * `onRequest` of `core.cache`: answer from the store when RFC 9111 allows it, otherwise prepare the
 * upstream request (validators for a stale entry, coalescing with concurrent misses) and leave a
 * slot for `onResponse`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Answer, RequestContext } from '../../../core/policy.ts';
import { Coalescer } from './coalesce.ts';
import { type Directives, deltaSeconds, parseCacheControl } from './directives.ts';
import type { CacheEntry } from './entry.ts';
import { assess } from './freshness.ts';
import { primaryKey, uriOf, variantKey } from './key.ts';
import { loopbackRequest, REFRESH_HEADER, sendLoopback } from './refresh.ts';
import { answerFromEntry, type CacheSlot, count, newSlot, type RouteCache } from './route-cache.ts';
import type { Forward, Status } from './status.ts';

/** Methods that change nothing (RFC 9110 §9.2.1); any other one invalidates on success. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** Background refresh claim across nodes; as long as one refresh may take. */
const REFRESH_LOCK_MS = 30_000;

const NO_DIRECTIVES: Directives = new Map();

interface Found {
  key: string;
  entry: CacheEntry | undefined;
  fwd: Forward;
}

/** The variant for this request: the recorded Vary names turn the primary key into its key. */
async function find(rc: RouteCache, primary: string, ctx: RequestContext): Promise<Found> {
  const vary = await rc.shared.store.varyOf(primary);
  if (vary === undefined) return { key: primary, entry: undefined, fwd: 'uri-miss' };
  const key = variantKey(primary, vary, ctx.headers);
  const entry = await rc.shared.store.get(key);
  return { key, entry, fwd: entry !== undefined ? 'stale' : vary.length > 0 ? 'vary-miss' : 'miss' };
}

function isOurToken(value: string | string[] | undefined, token: string): boolean {
  if (typeof value !== 'string' || value.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(value), Buffer.from(token));
}

function pass(rc: RouteCache, ctx: RequestContext, slot: CacheSlot, status: Status): undefined {
  slot.mode = 'pass';
  slot.status = status;
  ctx.slots.cache = slot;
  count(rc, slot, status);
  return undefined;
}

/** Conditional fields: ours (from the stored entry) replace the client's, or none go at all. */
function setValidators(ctx: RequestContext, entry: CacheEntry | undefined): boolean {
  const etag = entry?.headers.etag;
  const modified = entry?.headers['last-modified'];
  // An empty value removes the client's field (forwarding.ts): a miss must fetch a full response
  // the cache can store, whatever the client already holds (RFC 9111 §4.3.2 lets the cache answer
  // the client's condition itself once it has the response).
  ctx.upstreamHeaders['if-none-match'] = etag === undefined ? '' : String(etag);
  ctx.upstreamHeaders['if-modified-since'] = modified === undefined ? '' : String(modified);
  return etag !== undefined || modified !== undefined;
}

export async function cacheOnRequest(
  rc: RouteCache,
  ctx: RequestContext,
  round = 0,
): Promise<Answer | undefined> {
  const { config, shared } = rc;
  const method = ctx.method;
  const authorized = ctx.headers.authorization !== undefined;
  const uri = uriOf(ctx, config.key.query);
  if (method !== 'GET' && method !== 'HEAD') {
    if (!SAFE.has(method)) {
      const slot = newSlot('unsafe', uri, uri, authorized);
      ctx.slots.cache = slot;
      count(rc, slot, { result: 'bypass' });
    }
    return undefined;
  }
  const primary = primaryKey(uri, ctx, rc.keyOptions);
  const slot = newSlot('lookup', uri, primary, authorized);
  slot.collapsed = round > 0;
  if (ctx.headers[REFRESH_HEADER] !== undefined) {
    ctx.upstreamHeaders[REFRESH_HEADER] = ''; // never sent upstream, forged or not
    if (isOurToken(ctx.headers[REFRESH_HEADER], rc.token)) slot.mode = 'refresh';
  }
  if (ctx.headers.range !== undefined) return pass(rc, ctx, slot, { result: 'bypass', fwd: 'bypass' });
  const cc = config.honorClientNoCache ? parseCacheControl(ctx.headers['cache-control']) : NO_DIRECTIVES;
  // §5.2.1.5: nothing of this exchange is stored.
  if (cc.has('no-store')) return pass(rc, ctx, slot, { result: 'bypass', fwd: 'request' });
  // §5.2.1.4 (and §5.4: Pragma counts only without Cache-Control): validate before any reuse.
  const noCache =
    cc.has('no-cache') ||
    (config.honorClientNoCache &&
      ctx.headers['cache-control'] === undefined &&
      /(^|,)\s*no-cache\s*(,|$)/i.test(ctx.headers.pragma ?? ''));
  const maxAge = deltaSeconds(cc, 'max-age');
  const now = Date.now();

  let found: Found;
  try {
    found = await find(rc, primary, ctx);
  } catch (err) {
    shared.warn(err, 'cache: store lookup failed; going upstream');
    return pass(rc, ctx, slot, { result: 'miss', fwd: 'miss', detail: 'store-error' });
  }
  slot.key = found.key;
  slot.fwd = noCache ? 'request' : found.fwd;
  let entry = found.entry;
  let assessment = entry && assess(entry, now, config.defaultTtlMs, maxAge && maxAge * 1000);
  if (entry && authorized && !assessment!.policy.sharedWithAuth) {
    // §3.5: stored without public, s-maxage or must-revalidate, so not for Authorization requests.
    entry = undefined;
    assessment = undefined;
    slot.fwd = 'miss';
  }
  if (entry !== undefined && assessment !== undefined && !noCache) {
    if (assessment.fresh) {
      const status: Status = {
        result: 'hit',
        ttlMs: assessment.ttlMs,
        collapsed: slot.collapsed || undefined,
      };
      count(rc, slot, status);
      return answerFromEntry(rc, ctx.headers, entry, now, status);
    }
    if (assessment.serveWhileRevalidate && slot.mode === 'lookup') {
      refreshInBackground(rc, ctx, found.key);
      const status: Status = { result: 'stale', ttlMs: assessment.ttlMs, detail: 'stale-while-revalidate' };
      count(rc, slot, status);
      return answerFromEntry(rc, ctx.headers, entry, now, status);
    }
  }
  if (method === 'HEAD' && slot.mode === 'lookup') {
    // A HEAD response has no body to store; relay it (RFC 9110 §9.3.2).
    return pass(rc, ctx, slot, { result: 'miss', fwd: slot.fwd });
  }
  slot.stale = entry;
  slot.validating = setValidators(ctx, entry);
  ctx.slots.cache = slot;
  if (slot.mode === 'refresh' || !config.coalesce.enabled || round > 0 || noCache) return undefined;

  return coalesce(rc, ctx, slot, found, round);
}

/**
 * Q41: the first miss for a key leads and goes upstream; concurrent ones wait for it and then look
 * again (coalesce.ts). Resolves undefined for the request that should go upstream.
 */
async function coalesce(
  rc: RouteCache,
  ctx: RequestContext,
  slot: CacheSlot,
  found: Found,
  round: number,
): Promise<Answer | undefined> {
  const { config, shared } = rc;
  const joined = shared.coalescer.join(found.key, config.coalesce.timeoutMs);
  if ('wait' in joined) {
    rc.counters.coalesced();
    await Coalescer.follow(joined.wait, config.coalesce.timeoutMs);
    // Whatever the leader got, look again: a stored answer is a hit, anything else goes upstream.
    return cacheOnRequest(rc, ctx, round + 1);
  }
  slot.lead = joined.lead;
  // Landed: something other than what this request saw has been stored since (new or refreshed).
  const landed = async () => {
    const again = await find(rc, slot.primary, ctx);
    return again.entry !== undefined && again.entry.storedAt !== found.entry?.storedAt;
  };
  const goUpstream = await shared.coalescer.claim(found.key, joined.lead, config.coalesce.timeoutMs, landed);
  if (goUpstream) return undefined;
  // It landed while we looked or waited: release our followers and answer like them.
  joined.lead.release();
  slot.lead = undefined;
  return cacheOnRequest(rc, ctx, round + 1);
}

/** RFC 5861 §3: one refresh per key at a time, in this process and (with Redis) across nodes. */
function refreshInBackground(rc: RouteCache, ctx: RequestContext, key: string): void {
  const { shared } = rc;
  if (shared.refreshing.has(key)) return;
  shared.refreshing.add(key);
  const name = `refresh\u0000${key}`;
  const loopback = loopbackRequest(ctx, rc.token);
  void (async () => {
    try {
      if (!(await shared.store.lock(name, REFRESH_LOCK_MS))) return;
      try {
        await sendLoopback(loopback);
      } finally {
        await shared.store.unlock(name);
      }
    } catch (err) {
      shared.warn(err, 'cache: background refresh failed');
    } finally {
      shared.refreshing.delete(key);
    }
  })();
}
