/**
 * Poll cursors (issue #6: sources without webhooks): where a poller stands in a source (an opaque
 * cursor and the last ETag), and the lease that makes one node at a time poll it.
 *
 * Leases are fenced (https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html):
 * every acquisition raises the row's `fence`, and every write under a lease names the fence it was
 * given. A poller that stalled past its lease while another node took over holds an old fence, so
 * its late cursor write is refused instead of moving the cursor back. A lease that expired but that
 * nobody took is still its holder's, as for node leases (src/store/nodes.ts).
 *
 * Acquiring is one conditional upsert, atomic on both dialects: insert the row, or take it over only
 * if it is free, expired, or already the caller's; RETURNING tells the winner.
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { checkName, checkPositiveMs } from './checks.ts';
import { StoreRecordInvalid } from './errors.ts';
import type { Database, PollCursorsTable } from './schema.ts';

export interface PollCursor {
  source: string;
  cursor: string | null;
  etag: string | null;
  /** When the cursor was last written (epoch ms). */
  updatedAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  fence: number;
}

/** A held lease: pass it to `set`, `renew` and `release`. */
export interface PollLease {
  source: string;
  owner: string;
  /** Raised by every acquisition of the source; writes under an older one are refused. */
  fence: number;
  expiresAt: number;
}

export interface PollPosition {
  cursor: string | null;
  etag: string | null;
}

const MAX_VALUE = 4096;

type Db = Kysely<Database>;

export class PollCursorRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async get(source: string): Promise<PollCursor | undefined> {
    const row = await this.getQuery(source).executeTakeFirst();
    return row && toCursor(row);
  }

  /**
   * Takes the source's lease for `ttlMs` if it is free, expired, or already `owner`'s (then with a new
   * fence); undefined while another owner holds it.
   * @example
   * const lease = await store.pollCursors.acquireLease('github-issues', nodeOwner, 30_000);
   * if (lease) { const { cursor } = (await store.pollCursors.get(lease.source))!; ... }
   */
  async acquireLease(
    source: string,
    owner: string,
    ttlMs: number,
    now: number = Date.now(),
  ): Promise<PollLease | undefined> {
    checkName('source', source);
    checkName('owner', owner);
    checkPositiveMs('ttlMs', ttlMs);
    const row = await this.acquireQuery(source, owner, now + ttlMs, now).executeTakeFirst();
    return row && { source, owner, fence: row.fence, expiresAt: now + ttlMs };
  }

  /** Extends the lease to `now + ttlMs`; undefined if it is no longer held with this fence. */
  async renew(lease: PollLease, ttlMs: number, now: number = Date.now()): Promise<PollLease | undefined> {
    checkPositiveMs('ttlMs', ttlMs);
    const result = await this.renewQuery(lease, now + ttlMs).executeTakeFirst();
    return result.numUpdatedRows > 0n ? { ...lease, expiresAt: now + ttlMs } : undefined;
  }

  /** Frees the lease for the next owner; false if it was not held with this fence. */
  async release(lease: PollLease): Promise<boolean> {
    const result = await this.releaseQuery(lease).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Stores the position under the lease; false (nothing written) if the lease was lost. */
  async set(lease: PollLease, position: PollPosition, now: number = Date.now()): Promise<boolean> {
    for (const value of [position.cursor, position.etag]) {
      if (value !== null && (typeof value !== 'string' || value.length > MAX_VALUE)) {
        throw new JunctionError(
          StoreRecordInvalid,
          `cursor and etag must be strings up to ${MAX_VALUE} long`,
        );
      }
    }
    const result = await this.setQuery(lease, position, now).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Index: primary key. */
  getQuery(source: string) {
    return this.#db.selectFrom('poll_cursors').selectAll().where('source', '=', source);
  }

  /** Insert, or take over a free, expired or own lease with the next fence. Index: primary key. */
  acquireQuery(source: string, owner: string, expires: number, now: number) {
    return this.#db
      .insertInto('poll_cursors')
      .values({
        source,
        cursor: null,
        etag: null,
        updated_at: now,
        lease_owner: owner,
        lease_expires_at: expires,
        fence: 1,
      })
      .onConflict((oc) =>
        oc
          .column('source')
          .doUpdateSet((eb) => ({
            lease_owner: eb.ref('excluded.lease_owner'),
            lease_expires_at: eb.ref('excluded.lease_expires_at'),
            fence: eb('poll_cursors.fence', '+', 1),
          }))
          .where((eb) =>
            eb.or([
              eb('poll_cursors.lease_owner', 'is', null),
              eb('poll_cursors.lease_expires_at', '<=', now),
              eb('poll_cursors.lease_owner', '=', owner),
            ]),
          ),
      )
      .returning('fence');
  }

  /** Index: primary key. */
  renewQuery(lease: PollLease, expires: number) {
    return this.#held(lease).set({ lease_expires_at: expires });
  }

  /** Index: primary key. */
  releaseQuery(lease: PollLease) {
    return this.#held(lease).set({ lease_owner: null, lease_expires_at: null });
  }

  /** Index: primary key. */
  setQuery(lease: PollLease, position: PollPosition, now: number) {
    return this.#held(lease).set({ cursor: position.cursor, etag: position.etag, updated_at: now });
  }

  #held(lease: PollLease) {
    return this.#db
      .updateTable('poll_cursors')
      .where('source', '=', lease.source)
      .where('lease_owner', '=', lease.owner)
      .where('fence', '=', lease.fence);
  }
}

function toCursor(row: PollCursorsTable): PollCursor {
  return {
    source: row.source,
    cursor: row.cursor,
    etag: row.etag,
    updatedAt: row.updated_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    fence: row.fence,
  };
}
