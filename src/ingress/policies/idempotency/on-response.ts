/**
 * `onResponse` and `onLog` of `core.idempotency`:
 *
 * - `onResponse`: store the upstream's response while it streams (capture.ts), or release the lease
 *   when the upstream never answered or said it did not process the request (`releaseStatuses`).
 * - `onLog`: a lease whose request never reached an upstream (a later policy or the handler answered)
 *   is released — Stripe saves a result "only after the execution of an endpoint begins". One whose
 *   request did reach it but got no response to the gateway (the client left) is kept until it
 *   lapses, because the upstream may have executed it.
 */
import type { AccessEntry, RequestContext, UpstreamResponse } from '../../../core/policy.ts';
import { captureBody } from './capture.ts';
import { storableHeaders } from './replay.ts';
import { complete, type RouteIdempotency, release } from './route.ts';

const EMPTY = Buffer.alloc(0);

export async function idempotencyOnResponse(
  ri: RouteIdempotency,
  ctx: RequestContext,
  res: UpstreamResponse,
): Promise<UpstreamResponse> {
  const slot = ctx.slots.idempotency;
  if (slot === undefined || slot.state !== 'leased') return res;
  // No response (refused, reset, timed out, circuit open), or one saying "not processed, retry".
  if (res.error !== undefined || ri.releaseStatuses.has(res.status)) {
    await release(ri, slot);
    return res;
  }
  const declared = Number(one(res.headers['content-length']) ?? Number.NaN);
  if (declared > ri.config.maxResponseBytes) {
    ri.logger.warn(
      { requestId: ctx.id, bytes: declared },
      'idempotency: response too large to store; key released',
    );
    await release(ri, slot);
    return res;
  }
  const headers = storableHeaders(res.headers);
  const save = (body: Buffer) => complete(ri, slot, { status: res.status, headers, body });
  if (res.body === null) {
    await save(EMPTY);
    return res;
  }
  slot.state = 'capturing';
  const body = captureBody(
    res.body,
    ri.config.maxResponseBytes,
    save,
    (why) => {
      if (why === 'too-large') {
        ri.logger.warn({ requestId: ctx.id }, 'idempotency: response too large to store; key released');
        return release(ri, slot);
      }
      // Cut short after the upstream answered: it executed, so the key stays locked until it lapses.
      slot.state = 'done';
    },
    Number.isSafeInteger(declared) && declared > 0 ? declared : undefined,
  );
  return { ...res, body };
}

export function idempotencyOnLog(ri: RouteIdempotency, ctx: RequestContext, entry: AccessEntry): void {
  const slot = ctx.slots.idempotency;
  if (slot === undefined || slot.state !== 'leased') return;
  if (entry.target === undefined) {
    void release(ri, slot);
    return;
  }
  slot.state = 'done';
  ri.logger.warn(
    { requestId: ctx.id, route: ri.route },
    'idempotency: the request reached the upstream but no response was stored (client left); the key stays locked for leaseMs',
  );
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
