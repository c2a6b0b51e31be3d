/**
 * `onResponse` of `core.cache`: store what may be stored while it streams to the client, turn a 304
 * into the refreshed entry, answer stale when the upstream fails (RFC 5861 §4), and invalidate after
 * a successful unsafe request (RFC 9111 §4.4).
 */
import type { RequestContext, UpstreamResponse } from '../../../core/policy.ts';
import { varyNames } from './directives.ts';
import { freshened, newEntry } from './entry.ts';
import { assess, storeDecision } from './freshness.ts';
import { invalidationUris, variantKey } from './key.ts';
import { type CacheSlot, count, type RouteCache, responseFromEntry, withStatusOf } from './route-cache.ts';
import type { Status } from './status.ts';
import { readForStore, teeForStore } from './tee.ts';

/** RFC 5861 §4: the errors stale-if-error covers (plus no response at all, `res.error`). */
const SERVER_ERRORS = new Set([500, 502, 503, 504]);

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function drain(res: UpstreamResponse): void {
  // Read to the end rather than destroy: the pooled upstream connection stays reusable.
  res.body?.resume();
}

export async function cacheOnResponse(
  rc: RouteCache,
  ctx: RequestContext,
  res: UpstreamResponse,
): Promise<UpstreamResponse> {
  const slot = ctx.slots.cache;
  if (slot === undefined) return res;
  switch (slot.mode) {
    case 'unsafe':
      await invalidateAfter(rc, slot, res);
      return res;
    case 'pass':
      return withStatusOf(rc, res, slot.status!);
    case 'refresh':
      await storeRefresh(rc, ctx, slot, res);
      return { status: 204, headers: {}, body: null };
    case 'lookup':
      return fromUpstream(rc, ctx, slot, res);
  }
}

async function invalidateAfter(rc: RouteCache, slot: CacheSlot, res: UpstreamResponse): Promise<void> {
  if (res.error !== undefined || res.status < 200 || res.status >= 400) return;
  const uris = invalidationUris(
    slot.uri,
    one(res.headers.location),
    one(res.headers['content-location']),
    rc.config.key.query,
  );
  try {
    // Awaited: the client that wrote must not read the old entry back (read-your-writes).
    await Promise.all(uris.map((u) => rc.shared.store.invalidate(u)));
  } catch (err) {
    rc.shared.warn(err, 'cache: invalidation failed');
  }
}

async function fromUpstream(
  rc: RouteCache,
  ctx: RequestContext,
  slot: CacheSlot,
  res: UpstreamResponse,
): Promise<UpstreamResponse> {
  const { config, shared } = rc;
  const now = Date.now();
  const fwdStatus = res.error === undefined ? res.status : undefined;
  if (res.error !== undefined || SERVER_ERRORS.has(res.status)) {
    const stale = slot.stale;
    const a = stale && assess(stale, now, config.defaultTtlMs);
    slot.lead?.release();
    if (stale !== undefined && a?.serveIfError) {
      drain(res);
      const status: Status = {
        result: 'stale',
        fwd: 'stale',
        fwdStatus,
        ttlMs: a.ttlMs,
        detail: 'stale-if-error',
      };
      count(rc, slot, status);
      return responseFromEntry(rc, ctx.method, ctx.headers, stale, now, status);
    }
    return relay(rc, slot, res, { result: 'miss', fwd: slot.fwd, fwdStatus });
  }
  if (res.status === 304 && slot.validating && slot.stale !== undefined) {
    drain(res);
    const entry = freshened(slot.stale, res.headers, slot.requestTime, now);
    const decision = storeDecision(entry.status, entry.headers, slot.authorized, rc.rules);
    if (decision.refused === undefined) {
      await shared.store
        .put({ uri: slot.uri, primary: slot.primary, key: slot.key, entry, ttlMs: decision.retainMs })
        .catch((err: unknown) => shared.warn(err, 'cache: store write failed'));
    }
    slot.lead?.release();
    const ttlMs = assess(entry, now, config.defaultTtlMs).ttlMs;
    const status: Status = { result: 'revalidated', fwd: 'stale', fwdStatus: 304, ttlMs };
    count(rc, slot, status);
    // A cookie set by the 304 is this client's, never stored (entry.ts).
    const cookie = res.headers['set-cookie'];
    return responseFromEntry(
      rc,
      ctx.method,
      ctx.headers,
      entry,
      now,
      status,
      cookie === undefined ? undefined : { 'set-cookie': cookie },
    );
  }

  const vary = varyNames(res.headers.vary);
  const decision = storeDecision(res.status, res.headers, slot.authorized, rc.rules);
  const declared = Number(one(res.headers['content-length']) ?? Number.NaN);
  let refused = decision.refused;
  if (refused === undefined && declared > config.maxEntryBytes) refused = 'too-large';
  if (refused === undefined && (ctx.method !== 'GET' || res.body === null)) refused = 'method';
  if (refused !== undefined) {
    slot.lead?.release();
    return relay(rc, slot, res, { result: 'miss', fwd: slot.fwd, fwdStatus, detail: refused });
  }
  const key = variantKey(slot.primary, vary, ctx.headers);
  slot.storing = true;
  const body = teeForStore(res.body!, config.maxEntryBytes, (buf) => {
    slot.teeSettled = true;
    if (buf === undefined) {
      slot.lead?.release();
      return;
    }
    const entry = newEntry(res.status, res.headers, buf, vary, slot.requestTime, now);
    shared.store
      .put({ uri: slot.uri, primary: slot.primary, key, entry, ttlMs: decision.retainMs })
      .catch((err: unknown) => shared.warn(err, 'cache: store write failed'))
      .finally(() => slot.lead?.release());
  });
  // `stored` is only claimed when the length is known to fit; a chunked body may still overflow.
  const status: Status = {
    result: 'miss',
    fwd: slot.fwd,
    fwdStatus,
    stored: declared <= config.maxEntryBytes,
  };
  count(rc, slot, status);
  return withStatusOf(rc, { ...res, body }, status);
}

function relay(rc: RouteCache, slot: CacheSlot, res: UpstreamResponse, status: Status): UpstreamResponse {
  count(rc, slot, status);
  return withStatusOf(rc, res, status);
}

/** The loopback refresh (refresh.ts): store the new answer or the freshened entry; nobody waits. */
async function storeRefresh(
  rc: RouteCache,
  ctx: RequestContext,
  slot: CacheSlot,
  res: UpstreamResponse,
): Promise<void> {
  const { shared } = rc;
  const now = Date.now();
  try {
    if (res.status === 304 && slot.validating && slot.stale !== undefined) {
      drain(res);
      const entry = freshened(slot.stale, res.headers, slot.requestTime, now);
      const d = storeDecision(entry.status, entry.headers, slot.authorized, rc.rules);
      if (d.refused === undefined) {
        await shared.store.put({
          uri: slot.uri,
          primary: slot.primary,
          key: slot.key,
          entry,
          ttlMs: d.retainMs,
        });
      }
      return;
    }
    const d = storeDecision(res.status, res.headers, slot.authorized, rc.rules);
    if (res.error !== undefined || d.refused !== undefined || res.body === null) {
      drain(res);
      return;
    }
    const body = await readForStore(res.body, rc.config.maxEntryBytes);
    if (body === undefined) return;
    const vary = varyNames(res.headers.vary);
    const entry = newEntry(res.status, res.headers, body, vary, slot.requestTime, now);
    const key = variantKey(slot.primary, vary, ctx.headers);
    await shared.store.put({ uri: slot.uri, primary: slot.primary, key, entry, ttlMs: d.retainMs });
  } catch (err) {
    shared.warn(err, 'cache: background refresh could not store');
  }
}
