/**
 * Idempotency keys of `core.idempotency` (Q11, docs/idempotency.md), after Stripe
 * (https://docs.stripe.com/api/idempotent_requests) and draft-ietf-httpapi-idempotency-key-header-07.
 *
 * A key's row goes `locked` (a lease: the first request is executing) → `completed` (its response,
 * replayed until `expires_at`), or is deleted when the lease is released (the request never reached
 * the upstream, so it may be retried). Taking the lease is one conditional upsert, atomic on both
 * dialects like NodeRepository.claimQuery: insert the row, or take it over only if it expired or its
 * lease lapsed (holder presumed dead) with the same fingerprint; RETURNING tells the winner. Racing
 * requests for one key: exactly one gets the row back, the others read what holds it.
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { StoreRecordInvalid } from './errors.ts';
import type { Database, IdempotencyKeysTable } from './schema.ts';

/** Which key: scoped by caller and route, so one client's keys never meet another's (IETF draft §6). */
export interface IdempotencyRef {
  scope: string;
  route: string;
  key: string;
}

export interface StoredResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export type IdempotencyBegin =
  /** This request holds the lease: it goes upstream, then completes or releases with `token`. */
  | { outcome: 'acquired'; token: string }
  /** Another request with the key is executing (IETF draft §2.6: 409). */
  | { outcome: 'in-use'; lockedUntil: number }
  /** The key was first used with another payload (IETF draft §2.6: 422). */
  | { outcome: 'mismatch' }
  /** The first request finished: replay its response (Stripe: "including 500 errors"). */
  | { outcome: 'completed'; response: StoredResponse; completedAt: number };

export interface BeginOptions {
  now: number;
  leaseMs: number;
  /** Retention from now; never shorter than the lease. */
  ttlMs: number;
}

const MAX_PART = 512;
/** A row read between our failed claim and our look can vanish (released, swept): claim again. */
const CLAIM_ROUNDS = 4;

export class IdempotencyRepository {
  readonly #db: Kysely<Database>;
  readonly #dialect: 'sqlite' | 'postgres';

  constructor(db: Kysely<Database>, dialect: 'sqlite' | 'postgres') {
    this.#db = db;
    this.#dialect = dialect;
  }

  /**
   * Takes the lease on a key, or says what holds it.
   * @example
   * const b = await store.idempotency.begin(ref, fp, { now: Date.now(), leaseMs: 60_000, ttlMs: 86_400_000 });
   * if (b.outcome === 'acquired') { ... await store.idempotency.complete(ref, b.token, response); }
   */
  async begin(ref: IdempotencyRef, fingerprint: string, options: BeginOptions): Promise<IdempotencyBegin> {
    check(ref, fingerprint);
    const { now, leaseMs, ttlMs } = options;
    if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0 || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
      throw new JunctionError(StoreRecordInvalid, 'leaseMs and ttlMs must be positive integers');
    }
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const token = randomBytes(12).toString('base64url');
      const won = await this.claimQuery(ref, fingerprint, token, now, leaseMs, ttlMs).executeTakeFirst();
      if (won?.lease_token === token) return { outcome: 'acquired', token };
      const row = await this.getQuery(ref).executeTakeFirst();
      if (row === undefined || row.expires_at <= now) continue;
      if (row.fingerprint !== fingerprint) return { outcome: 'mismatch' };
      if (row.state === 'completed') {
        return { outcome: 'completed', response: toResponse(row), completedAt: row.completed_at ?? now };
      }
      return { outcome: 'in-use', lockedUntil: row.locked_until ?? now };
    }
    // Four claims lost to rows that vanished each time: as good as busy.
    return { outcome: 'in-use', lockedUntil: now + 1000 };
  }

  /** Stores the response under the lease; false if the lease is no longer ours (taken over). */
  async complete(
    ref: IdempotencyRef,
    token: string,
    response: StoredResponse,
    options: { now: number; ttlMs: number },
  ): Promise<boolean> {
    const result = await this.completeQuery(
      ref,
      token,
      response,
      options.now,
      options.ttlMs,
    ).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Drops the lease so the key can be used again; false if it was no longer ours. */
  async release(ref: IdempotencyRef, token: string): Promise<boolean> {
    const result = await this.releaseQuery(ref, token).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Deletes up to `limit` rows past retention; returns how many went. Repeat while it returns `limit`. */
  async sweep(now: number = Date.now(), limit = 1000): Promise<number> {
    const result = await this.sweepQuery(now, limit).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Insert, or take over an expired row or a lapsed lease of the same payload. Index: primary key. */
  claimQuery(
    ref: IdempotencyRef,
    fingerprint: string,
    token: string,
    now: number,
    leaseMs: number,
    ttlMs: number,
  ) {
    const lease = {
      fingerprint,
      state: 'locked' as const,
      lease_token: token,
      locked_until: now + leaseMs,
      created_at: now,
      expires_at: now + Math.max(ttlMs, leaseMs),
    };
    return this.#db
      .insertInto('idempotency_keys')
      .values({ scope: ref.scope, route: ref.route, idempotency_key: ref.key, ...lease })
      .onConflict((oc) =>
        oc
          .columns(['scope', 'route', 'idempotency_key'])
          .doUpdateSet({
            ...lease,
            status: null,
            headers: null,
            body: null,
            completed_at: null,
          })
          .where((eb) =>
            eb.or([
              eb('idempotency_keys.expires_at', '<=', now),
              eb.and([
                eb('idempotency_keys.state', '=', 'locked'),
                eb('idempotency_keys.locked_until', '<=', now),
                eb('idempotency_keys.fingerprint', '=', fingerprint),
              ]),
            ]),
          ),
      )
      .returning('lease_token');
  }

  /** Index: primary key. */
  getQuery(ref: IdempotencyRef) {
    return this.#db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('scope', '=', ref.scope)
      .where('route', '=', ref.route)
      .where('idempotency_key', '=', ref.key);
  }

  /** Index: primary key; the token proves the lease is still ours. */
  completeQuery(ref: IdempotencyRef, token: string, response: StoredResponse, now: number, ttlMs: number) {
    return this.#db
      .updateTable('idempotency_keys')
      .set({
        state: 'completed',
        lease_token: null,
        locked_until: null,
        status: response.status,
        headers: JSON.stringify(response.headers),
        body: response.body,
        completed_at: now,
        expires_at: now + ttlMs,
      })
      .where('scope', '=', ref.scope)
      .where('route', '=', ref.route)
      .where('idempotency_key', '=', ref.key)
      .where('lease_token', '=', token);
  }

  /** Index: primary key. */
  releaseQuery(ref: IdempotencyRef, token: string) {
    return this.#db
      .deleteFrom('idempotency_keys')
      .where('scope', '=', ref.scope)
      .where('route', '=', ref.route)
      .where('idempotency_key', '=', ref.key)
      .where('lease_token', '=', token);
  }

  /**
   * In batches, oldest first. On PostgreSQL the batch skips rows another node is deleting right now,
   * so concurrent sweepers never wait on (or deadlock with) each other (Svix PR #869). Index:
   * idempotency_keys_expires_at_idx, then the primary key.
   */
  sweepQuery(now: number, limit: number) {
    return this.#db.deleteFrom('idempotency_keys').where(({ eb, refTuple, selectFrom }) => {
      let batch = selectFrom('idempotency_keys')
        .select(['scope', 'route', 'idempotency_key'])
        .where('expires_at', '<=', now)
        .orderBy('expires_at')
        .limit(limit);
      if (this.#dialect === 'postgres') batch = batch.forUpdate().skipLocked();
      return eb(
        refTuple('scope', 'route', 'idempotency_key'),
        'in',
        batch.$asTuple('scope', 'route', 'idempotency_key'),
      );
    });
  }
}

function toResponse(row: IdempotencyKeysTable): StoredResponse {
  const body = row.body ?? new Uint8Array(0);
  return {
    status: row.status ?? 500,
    headers: row.headers === null ? {} : (JSON.parse(row.headers) as StoredResponse['headers']),
    body: Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
  };
}

function check(ref: IdempotencyRef, fingerprint: string): void {
  for (const [name, v] of [
    ['scope', ref.scope],
    ['route', ref.route],
    ['key', ref.key],
    ['fingerprint', fingerprint],
  ] as const) {
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_PART) {
      throw new JunctionError(StoreRecordInvalid, `${name} must be 1..${MAX_PART} characters`);
    }
  }
}
