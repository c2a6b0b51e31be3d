/**
 * Outbound webhooks (issue #7): applications (one per customer), their endpoints, event types with
 * versioned JSON Schemas, the messages sent to an application and the attempt log. The queue itself
 * is the event log's (0007-events): a message is also an `events` row (source `app:<app id>`) with one
 * `deliveries` row per endpoint (subscription `ep:<endpoint id>`), written in the same transaction.
 * Released: never edit, add a migration instead (./index.ts).
 *
 * Soft delete (Q48): applications and endpoints carry `deleted_at`; their unique constraints are
 * partial indexes `where deleted_at is null`, so a deleted row keeps its uid only until it is purged
 * and a new row may take the uid at once. Both SQLite (https://www.sqlite.org/partialindex.html) and
 * PostgreSQL (https://www.postgresql.org/docs/current/indexes-partial.html) enforce such indexes.
 */
import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  // Byte order for every Snowflake id column, as in 0001-core.ts: keyset cursors compare strings.
  const byteOrder: RawBuilder<unknown> = postgres ? sql`collate "C"` : sql`collate binary`;

  await db.schema
    .createTable('webhook_apps')
    .addColumn('id', 'text', (c) => c.modifyFront(byteOrder).primaryKey())
    // '' when the application belongs to no tenant: NULL would escape the unique index below.
    .addColumn('tenant', 'text', (c) => c.notNull())
    .addColumn('uid', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    // Deliveries per second to each of its endpoints unless the endpoint sets its own; null: none.
    .addColumn('rate_limit', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('webhook_apps_tenant_uid_key')
    .on('webhook_apps')
    .columns(['tenant', 'uid'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  // Live applications newest first, of a tenant or of all; and (below) the purge by deletion time.
  await db.schema
    .createIndex('webhook_apps_tenant_id_idx')
    .on('webhook_apps')
    .columns(['tenant', 'id'])
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('webhook_apps_live_id_idx')
    .on('webhook_apps')
    .column('id')
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema
    .createIndex('webhook_apps_deleted_at_idx')
    .on('webhook_apps')
    .column('deleted_at')
    .where(sql.ref('deleted_at'), 'is not', null)
    .execute();

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.modifyFront(byteOrder).primaryKey())
    .addColumn('app_id', 'text', (c) =>
      c.modifyFront(byteOrder).notNull().references('webhook_apps.id').onDelete('cascade'),
    )
    .addColumn('uid', 'text')
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    // JSON arrays; null: every event type / every channel.
    .addColumn('filter_types', 'text')
    .addColumn('channels', 'text')
    // JSON object of extra request headers.
    .addColumn('headers', 'text', (c) => c.notNull())
    // `whsec_…` signing secret, and JSON [{ secret, expires_at }] of rotated-out ones still signing.
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('previous_secrets', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'bigint')
    .addColumn('rate_limit', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('webhook_endpoints_app_uid_key')
    .on('webhook_endpoints')
    .columns(['app_id', 'uid'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  // An application's endpoints newest first (lists, fan-out), and the purge.
  await db.schema
    .createIndex('webhook_endpoints_app_id_id_idx')
    .on('webhook_endpoints')
    .columns(['app_id', 'id'])
    .execute();
  await db.schema
    .createIndex('webhook_endpoints_deleted_at_idx')
    .on('webhook_endpoints')
    .column('deleted_at')
    .where(sql.ref('deleted_at'), 'is not', null)
    .execute();

  await db.schema
    .createTable('webhook_event_types')
    .addColumn('name', 'text', (c) => c.modifyFront(byteOrder).primaryKey())
    .addColumn('description', 'text', (c) => c.notNull())
    // The latest schema version, 0 while the type has none (payloads are then not validated).
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    // Archived: no new messages of this type; restored by creating it again.
    .addColumn('deleted_at', 'bigint')
    .execute();
  await db.schema
    .createTable('webhook_event_type_schemas')
    .addColumn('event_type', 'text', (c) =>
      c.modifyFront(byteOrder).notNull().references('webhook_event_types.name').onDelete('cascade'),
    )
    .addColumn('version', 'integer', (c) => c.notNull())
    // JSON Schema (draft 2020-12) text.
    .addColumn('schema', 'text', (c) => c.notNull())
    // The check it passed against the previous version: backward, forward, full or none.
    .addColumn('compatibility', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_event_type_schemas_pk', ['event_type', 'version'])
    .execute();

  await db.schema
    .createTable('webhook_messages')
    .addColumn('id', 'text', (c) => c.modifyFront(byteOrder).primaryKey())
    .addColumn('app_id', 'text', (c) =>
      c.modifyFront(byteOrder).notNull().references('webhook_apps.id').onDelete('cascade'),
    )
    .addColumn('event_type', 'text', (c) => c.notNull())
    // The sender's id for the message, unique per application (its deduplication key).
    .addColumn('event_id', 'text')
    // JSON array, or null.
    .addColumn('channels', 'text')
    // JSON text; null once past payload retention.
    .addColumn('payload', 'text')
    // The schema version the payload was validated against (0: none).
    .addColumn('schema_version', 'integer', (c) => c.notNull())
    // The `events` row that carries it through the delivery queue.
    .addColumn('queue_event_id', 'text', (c) => c.modifyFront(byteOrder).notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_messages_app_event_id_key')
    .on('webhook_messages')
    .columns(['app_id', 'event_id'])
    .unique()
    .where(sql.ref('event_id'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('webhook_messages_app_id_id_idx')
    .on('webhook_messages')
    .columns(['app_id', 'id'])
    .execute();
  // Payload retention: the oldest messages that still hold a payload.
  await db.schema
    .createIndex('webhook_messages_payload_created_at_idx')
    .on('webhook_messages')
    .column('created_at')
    .where(sql.ref('payload'), 'is not', null)
    .execute();

  await db.schema
    .createTable('webhook_message_attempts')
    .addColumn('id', 'text', (c) => c.modifyFront(byteOrder).primaryKey())
    .addColumn('app_id', 'text', (c) =>
      c.modifyFront(byteOrder).notNull().references('webhook_apps.id').onDelete('cascade'),
    )
    .addColumn('message_id', 'text', (c) =>
      c.modifyFront(byteOrder).notNull().references('webhook_messages.id').onDelete('cascade'),
    )
    .addColumn('endpoint_id', 'text', (c) => c.modifyFront(byteOrder).notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('succeeded', 'failed')`))
    // The HTTP status, null when there was no answer (timeout, refused).
    .addColumn('response_status', 'integer')
    // At most 20 kB of the answer, and a JSON object of its header fields.
    .addColumn('response_body', 'text')
    .addColumn('response_headers', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_message_attempts_message_id_idx')
    .on('webhook_message_attempts')
    .columns(['message_id', 'id'])
    .execute();
  await db.schema
    .createIndex('webhook_message_attempts_endpoint_id_idx')
    .on('webhook_message_attempts')
    .columns(['endpoint_id', 'id'])
    .execute();
  await db.schema
    .createIndex('webhook_message_attempts_app_id_idx')
    .on('webhook_message_attempts')
    .columns(['app_id', 'id'])
    .execute();
}
