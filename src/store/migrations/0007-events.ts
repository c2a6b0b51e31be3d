/**
 * The durable event log and its work queue (issue #6; Q24, Q25, Q40): `events` (what arrived, deduped
 * by the provider's id), `deliveries` (one row per event and subscription: the queue), `inbox`
 * (ids an idempotent consumer has processed) and `poll_cursors` (where each poller stands, with the
 * lease that lets one node poll a source at a time). Released: never edit, add a migration instead
 * (./index.ts).
 *
 * The queue's invariant is written into the table, so code outside DeliveryRepository cannot break
 * it: `next_attempt_at` is set exactly while a delivery can still run (pending: when it is due;
 * leased: when the lease expires, so an abandoned lease is due again), and null once it is done or
 * dead. The claim is then one range read of `deliveries_due_idx`, a partial index that holds only
 * live rows however many finished ones pile up (src/store/deliveries.ts).
 */
import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  // Byte order for every Snowflake id column, as in 0001-core.ts: keyset cursors compare strings.
  const byteOrder: RawBuilder<unknown> = postgres ? sql`collate "C"` : sql`collate binary`;

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.modifyFront(byteOrder).primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    // The provider's event or delivery id (Stripe `evt_…`, GitHub `X-GitHub-Delivery`); null when none.
    .addColumn('external_id', 'text')
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    // The raw body, byte for byte as received: signatures are over these bytes.
    .addColumn('payload', postgres ? 'bytea' : 'blob', (c) => c.notNull())
    .addColumn('headers', 'text', (c) => c.notNull())
    .execute();
  // Deduplication: EventRepository.append inserts `on conflict (source, external_id) do nothing`.
  // NULLs never conflict in a unique index on either dialect, so events without an id are all kept.
  await db.schema
    .createIndex('events_source_external_id_key')
    .on('events')
    .columns(['source', 'external_id'])
    .unique()
    .execute();
  // List by source or by type, newest first with an id cursor; time ranges are id ranges.
  for (const column of ['source', 'type']) {
    await db.schema.createIndex(`events_${column}_id_idx`).on('events').columns([column, 'id']).execute();
  }

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'text', (c) => c.modifyFront(byteOrder).primaryKey())
    .addColumn('event_id', 'text', (c) =>
      c.modifyFront(byteOrder).notNull().references('events.id').onDelete('cascade'),
    )
    .addColumn('subscription', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'leased', 'done', 'dead')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'bigint')
    .addColumn('last_error', 'text')
    // HTTP status of the last attempt; null when it got no response (refused, timed out).
    .addColumn('last_status', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addCheckConstraint(
      'deliveries_due_check',
      sql`(status in ('pending', 'leased')) = (next_attempt_at is not null)`,
    )
    .addCheckConstraint(
      'deliveries_lease_check',
      sql`(status = 'leased') = (lease_owner is not null and lease_expires_at is not null)`,
    )
    .execute();
  // The claim: `where next_attempt_at <= now order by next_attempt_at, id limit n`. Partial, so done
  // and dead rows (null) are not in it; `next_attempt_at <= ?` implies `is not null` for both planners
  // (https://www.sqlite.org/partialindex.html#queries_using_partial_indexes).
  await db.schema
    .createIndex('deliveries_due_idx')
    .on('deliveries')
    .columns(['next_attempt_at', 'id'])
    .where('next_attempt_at', 'is not', null)
    .execute();
  // One delivery per event and subscription; also a delivery's rows by event (and the cascade).
  await db.schema
    .createIndex('deliveries_event_id_subscription_key')
    .on('deliveries')
    .columns(['event_id', 'subscription'])
    .unique()
    .execute();
  // Dead letters (and any status) newest first, for all subscriptions or one; time ranges are id ranges.
  await db.schema
    .createIndex('deliveries_status_id_idx')
    .on('deliveries')
    .columns(['status', 'id'])
    .execute();
  await db.schema
    .createIndex('deliveries_subscription_status_id_idx')
    .on('deliveries')
    .columns(['subscription', 'status', 'id'])
    .execute();

  await db.schema
    .createTable('inbox')
    .addColumn('consumer', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('processed_at', 'bigint', (c) => c.notNull())
    // InboxRepository.process inserts `on conflict do nothing` before running the effect.
    .addPrimaryKeyConstraint('inbox_pk', ['consumer', 'message_id'])
    .execute();
  // The retention sweep: `where processed_at < before order by processed_at limit n`.
  await db.schema.createIndex('inbox_processed_at_idx').on('inbox').column('processed_at').execute();

  await db.schema
    .createTable('poll_cursors')
    .addColumn('source', 'text', (c) => c.primaryKey())
    .addColumn('cursor', 'text')
    .addColumn('etag', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'bigint')
    // Fencing token: raised by every acquisition, checked by every write under the lease.
    .addColumn('fence', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}
