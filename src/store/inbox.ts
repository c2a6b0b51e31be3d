/**
 * The idempotent-consumer inbox (Q25). Delivery is at least once (src/store/deliveries.ts), so a
 * consumer sees some messages twice; it makes their effect happen once by recording the message id
 * in the same transaction as the effect:
 *
 * ```ts
 * const r = await store.inbox.process('orders.payment-succeeded', event.id, async (trx) => {
 *   // `withTables` adds the types of your own tables in the same database.
 *   await trx.withTables<Orders>().updateTable('orders').set({ paid: true }).where('id', '=', orderId).execute();
 *   return orderId;
 * });
 * if (r.duplicate) return; // already applied: acknowledge again, do nothing
 * ```
 *
 * `process` inserts (consumer, message_id) `on conflict do nothing` first, then runs the effect in the
 * same transaction and commits both. A duplicate inserts nothing and skips the effect. A throwing
 * effect rolls the id back with everything else, so the redelivery runs it again. Concurrent
 * duplicates cannot both run: on PostgreSQL the second insert waits on the first's uncommitted row and
 * then conflicts (or proceeds, if the first rolled back); on SQLite transactions hold the write lock.
 *
 * The effect must write through `trx` only: other connections do not see its work until commit, and
 * on SQLite the store's single connection is busy with this transaction until the effect returns, so
 * a query on `store.db` inside the effect waits forever. Effects outside this database (an HTTP call,
 * a broker publish) are not covered: make those idempotent by passing the message id downstream.
 *
 * Your own services can use the same pattern against their own database: a table with primary key
 * (consumer, message_id), `insert … on conflict do nothing` in the transaction that applies the
 * message, and skip the work when no row was inserted. Keep ids at least as long as the sender may
 * redeliver (`sweep` deletes older ones).
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import type { Kysely, Transaction } from 'kysely';
import { checkName } from './checks.ts';
import type { Database } from './schema.ts';

export type InboxResult<T> =
  /** The effect ran and its result was committed with the message id. */
  | { duplicate: false; value: T }
  /** The id was processed before: the effect did not run. */
  | { duplicate: true };

type Db = Kysely<Database>;

export class InboxRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Runs `effect` once per (consumer, messageId): in one transaction with the record of the id.
   * @example
   * const r = await store.inbox.process('ledger', delivery.eventId, (trx) => book(trx, payload));
   */
  async process<T>(
    consumer: string,
    messageId: string,
    effect: (trx: Transaction<Database>) => Promise<T>,
    now: number = Date.now(),
  ): Promise<InboxResult<T>> {
    checkName('consumer', consumer);
    checkName('messageId', messageId);
    return this.#db.transaction().execute(async (trx): Promise<InboxResult<T>> => {
      const recorded = await this.recordQuery(consumer, messageId, now, trx).executeTakeFirst();
      if (recorded === undefined) return { duplicate: true };
      return { duplicate: false, value: await effect(trx) };
    });
  }

  /** Whether the id was processed (and not swept yet). */
  async has(consumer: string, messageId: string): Promise<boolean> {
    return (await this.getQuery(consumer, messageId).executeTakeFirst()) !== undefined;
  }

  /** Deletes up to `limit` ids processed before `before`; returns how many. Repeat while it returns `limit`. */
  async sweep(before: number, limit = 1000): Promise<number> {
    const result = await this.sweepQuery(before, limit).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Index: primary key is the conflict target. */
  recordQuery(consumer: string, messageId: string, now: number, db: Db = this.#db) {
    return db
      .insertInto('inbox')
      .values({ consumer, message_id: messageId, processed_at: now })
      .onConflict((oc) => oc.columns(['consumer', 'message_id']).doNothing())
      .returning('message_id');
  }

  /** Index: primary key. */
  getQuery(consumer: string, messageId: string) {
    return this.#db
      .selectFrom('inbox')
      .select('processed_at')
      .where('consumer', '=', consumer)
      .where('message_id', '=', messageId);
  }

  /** Index: inbox_processed_at_idx, then the primary key. */
  sweepQuery(before: number, limit: number) {
    return this.#db
      .deleteFrom('inbox')
      .where(({ eb, refTuple, selectFrom }) =>
        eb(
          refTuple('consumer', 'message_id'),
          'in',
          selectFrom('inbox')
            .select(['consumer', 'message_id'])
            .where('processed_at', '<', before)
            .orderBy('processed_at')
            .limit(limit)
            .$asTuple('consumer', 'message_id'),
        ),
      );
  }
}
