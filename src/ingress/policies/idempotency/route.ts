/**
 * What the phases of `core.idempotency` share: the per-request slot (declared on the context by
 * declaration merging, STYLE.md §8), the per-route state, and finishing a lease — storing the
 * response under it, or releasing it so the key can be used again.
 */
import type { Logger } from '../../../core/logger.ts';
import type { IdempotencyResult } from './metrics.ts';
import type { IdempotencyConfig } from './schema.ts';
import type { IdempotencyRef, IdempotencyStore, StoredResponse } from './store.ts';

export interface IdempotencySlot {
  ref: IdempotencyRef;
  token: string;
  store: IdempotencyStore;
  /** leased: holds the key; capturing: the response is streaming; done: stored, released or kept. */
  state: 'leased' | 'capturing' | 'done';
}

declare module '../../../core/policy.ts' {
  interface ContextSlots {
    idempotency: IdempotencySlot;
  }
}

/** What one route's policy instance works with. */
export interface RouteIdempotency {
  config: IdempotencyConfig;
  route: string;
  methods: ReadonlySet<string>;
  releaseStatuses: ReadonlySet<number>;
  /** The store, looked up per request: the gateway provides the SQL one after routes compile. */
  store(): IdempotencyStore | undefined;
  count(result: IdempotencyResult): void;
  logger: Logger;
  warn(err: unknown, msg: string): void;
}

export async function complete(
  ri: RouteIdempotency,
  slot: IdempotencySlot,
  response: StoredResponse,
): Promise<void> {
  slot.state = 'done';
  try {
    const ok = await slot.store.complete(slot.ref, slot.token, response, {
      now: Date.now(),
      ttlMs: ri.config.ttlMs,
    });
    if (!ok)
      ri.logger.warn(
        { route: ri.route },
        'idempotency: the lease lapsed before the response was stored (leaseMs shorter than the request?)',
      );
  } catch (err) {
    ri.warn(err, 'idempotency: storing the response failed; the key stays locked until its lease lapses');
  }
}

export async function release(ri: RouteIdempotency, slot: IdempotencySlot): Promise<void> {
  if (slot.state === 'done') return;
  slot.state = 'done';
  try {
    await slot.store.release(slot.ref, slot.token);
  } catch (err) {
    ri.warn(err, 'idempotency: releasing a key failed; it stays locked until its lease lapses');
  }
}
