/**
 * `onRequest` of `core.idempotency`: validate the key, buffer and fingerprint the body, then take the
 * lease (the request goes upstream), replay the stored response, or refuse — 409 while the first
 * request runs, 422 for another payload (draft-ietf-httpapi-idempotency-key-header-07 §2.6).
 */
import { BadRequest, JunctionError } from '../../../core/errors.ts';
import type { Answer, RequestContext } from '../../../core/policy.ts';
import { bufferBody, hasBody } from './body.ts';
import {
  IdempotencyBodyTooLarge,
  IdempotencyKeyInUse,
  IdempotencyKeyInvalid,
  IdempotencyKeyMismatch,
  IdempotencyKeyMissing,
  IdempotencyUnavailable,
} from './errors.ts';
import { fingerprintOf, MAX_KEY_LENGTH, parseKey, scopeOf } from './key.ts';
import { replayAnswer } from './replay.ts';
import { type IdempotencySlot, type RouteIdempotency, release } from './route.ts';
import type { IdempotencyBegin, IdempotencyRef } from './store.ts';

const EMPTY = Buffer.alloc(0);
/** The first request usually finishes well within its lease; a second later is a fair next try. */
const RETRY_AFTER = { 'retry-after': '1' };

/** Synchronous for requests it does not apply to, so they pay no promise. */
export function idempotencyOnRequest(
  ri: RouteIdempotency,
  ctx: RequestContext,
): Promise<Answer | undefined> | undefined {
  if (!ri.methods.has(ctx.method)) return undefined;
  const key = parseKey(ctx.req.headersDistinct['idempotency-key']);
  if (key === undefined) {
    if (ri.config.required)
      throw new JunctionError(
        IdempotencyKeyMissing,
        `${ctx.method} on this route needs an Idempotency-Key header`,
      );
    return undefined;
  }
  if (key === null) {
    throw new JunctionError(
      IdempotencyKeyInvalid,
      `Idempotency-Key must be one field of 1 to ${MAX_KEY_LENGTH} printable ASCII characters, bare or as a quoted string`,
    );
  }
  return begin(ri, ctx, key);
}

async function begin(ri: RouteIdempotency, ctx: RequestContext, key: string): Promise<Answer | undefined> {
  const store = ri.store();
  if (store === undefined) {
    throw new JunctionError(
      IdempotencyUnavailable,
      'the gateway has not provided a store for core.idempotency',
    );
  }
  const max = ri.config.maxBodyBytes;
  let body: Buffer = EMPTY;
  if (hasBody(ctx.req)) {
    const tooLarge = () =>
      new JunctionError(IdempotencyBodyTooLarge, `core.idempotency fingerprints bodies up to ${max} bytes`, {
        headers: { connection: 'close' },
      });
    if (Number(ctx.headers['content-length'] ?? 0) > max) throw tooLarge();
    const read = await bufferBody(ctx.req, max).catch((cause: unknown) => {
      // The client went away mid-body: nobody to answer, and not a gateway fault worth an error log.
      throw new JunctionError(BadRequest, 'the client closed the connection before its body arrived', {
        cause,
      });
    });
    if ('tooLarge' in read) throw tooLarge();
    body = read.body;
  }
  const ref: IdempotencyRef = { scope: scopeOf(ctx, ri.config.anonymousScope), route: ri.route, key };
  const fingerprint = fingerprintOf(ctx.method, ctx.path + ctx.query, body);
  let found: IdempotencyBegin;
  try {
    found = await store.begin(ref, fingerprint, {
      now: Date.now(),
      leaseMs: ri.config.leaseMs,
      ttlMs: ri.config.ttlMs,
    });
  } catch (cause) {
    ri.count('error');
    ri.warn(
      cause,
      'idempotency: the store could not be asked; refusing rather than risking a double execution',
    );
    throw new JunctionError(IdempotencyUnavailable, 'the idempotency store is unavailable', {
      cause,
      headers: RETRY_AFTER,
    });
  }
  switch (found.outcome) {
    case 'acquired': {
      const slot: IdempotencySlot = { ref, token: found.token, store, state: 'leased' };
      ri.count('new');
      // The client left while we asked the store: the proxy will not send the request (and onLog
      // has run already), so nothing would release the key before its lease lapsed.
      if (ctx.req.socket.destroyed) await release(ri, slot);
      else ctx.slots.idempotency = slot;
      return undefined;
    }
    case 'completed':
      ri.count('replayed');
      return replayAnswer(found.response);
    case 'in-use':
      ri.count('conflict');
      throw new JunctionError(
        IdempotencyKeyInUse,
        'a request with this key is outstanding; retry after it completes',
        {
          headers: RETRY_AFTER,
        },
      );
    case 'mismatch':
      ri.count('mismatch');
      throw new JunctionError(
        IdempotencyKeyMismatch,
        'this key was first used with another method, path or body; use a new key for a new request',
      );
  }
}
