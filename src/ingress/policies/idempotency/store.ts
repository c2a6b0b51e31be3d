/**
 * What `core.idempotency` needs of its storage. Two implementations with the same semantics: the
 * gateway's SQL store (`store.idempotency`, src/store/idempotency.ts, SQLite or PostgreSQL) and Redis
 * (./store-redis.ts). Both take the lease atomically, bind a key to its first fingerprint, let a lease
 * past `leaseMs` be taken over, and forget a key after `ttlMs`.
 */
import type { BeginOptions, IdempotencyBegin, IdempotencyRef, StoredResponse } from '../../../store/index.ts';

export type { BeginOptions, IdempotencyBegin, IdempotencyRef, StoredResponse };

export interface IdempotencyStore {
  begin(ref: IdempotencyRef, fingerprint: string, options: BeginOptions): Promise<IdempotencyBegin>;
  /** False when the lease was no longer this request's (it lapsed and another request took it). */
  complete(
    ref: IdempotencyRef,
    token: string,
    response: StoredResponse,
    options: { now: number; ttlMs: number },
  ): Promise<boolean>;
  release(ref: IdempotencyRef, token: string): Promise<boolean>;
}
