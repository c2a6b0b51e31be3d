/**
 * Node id leases and config revisions. Released: never edit, add a migration instead (./index.ts).
 *
 * Built with Kysely's schema builder so the same code emits SQLite and PostgreSQL DDL. `integer primary
 * key` is SQLite's rowid alias (https://www.sqlite.org/lang_createtable.html#rowid), so node lookups by id
 * need no separate index there.
 */
import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('nodes')
    // 10 bits of node id in a Snowflake; the check holds even if code outside NodeRepository writes here.
    .addColumn('node_id', 'integer', (c) => c.primaryKey().check(sql`node_id >= 0 and node_id <= 1023`))
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('hostname', 'text')
    .addColumn('pid', 'integer')
    .addColumn('started_at', 'bigint')
    .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
    .execute();
  // Serves NodeRepository.liveQuery: `where heartbeat_at >= cutoff` (and the expiry sweep).
  await db.schema.createIndex('nodes_heartbeat_at_idx').on('nodes').column('heartbeat_at').execute();

  await db.schema
    .createTable('config_revisions')
    .addColumn('id', 'text', (c) => c.modifyFront(byteOrder(db)).primaryKey())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('applied_by', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  // Serves latestApplied (`status = ? order by id desc limit 1`) and list by status with an id cursor.
  await db.schema
    .createIndex('config_revisions_status_id_idx')
    .on('config_revisions')
    .columns(['status', 'id'])
    .execute();
}

/**
 * Ids must compare byte by byte, as in JavaScript and SQLite's default BINARY collation: keyset cursors
 * (`id < after`) and "newest first" rely on it. A PostgreSQL database created with a linguistic locale
 * would otherwise compare `id` by its rules (https://www.postgresql.org/docs/current/collation.html);
 * "C" also compares faster.
 */
// biome-ignore lint/suspicious/noExplicitAny: see up().
function byteOrder(db: Kysely<any>): RawBuilder<unknown> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql`collate "C"` : sql`collate binary`;
}
