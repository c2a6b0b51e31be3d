/**
 * The audit log (Q50): an append-only, hash-chained table and the one-row head that appenders lock.
 * Released: never edit, add a migration instead (./index.ts).
 *
 * `seq` is the chain position. On SQLite `integer primary key` is the rowid alias
 * (https://www.sqlite.org/lang_createtable.html#rowid); PostgreSQL gets a BIGINT. Values are assigned
 * by the appender under the chain lock, not by a sequence: a sequence hands out numbers outside the
 * lock and leaves gaps on rollback, and the chain must have neither.
 *
 * Triggers refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL) on `audit_log` for everyone, owner
 * included, so no code path of ours can rewrite history by mistake. They do not stop a table owner
 * who drops them first: that is what REVOKE for the application's role (docs/operations.md) and the
 * hash chain (`junction audit verify`) are for.
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

/** `hash` of the row before the first one (RFC 6962 style chains also start from a fixed value). */
const GENESIS = '0'.repeat(64);

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', postgres ? 'bigint' : 'integer', (c) => c.primaryKey())
    // Byte order, as for every Snowflake id column (0001-core.ts): keyset cursors compare strings.
    .addColumn('id', 'text', (c) =>
      c.modifyFront(postgres ? sql`collate "C"` : sql`collate binary`).notNull(),
    )
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor_kind', 'text')
    .addColumn('actor_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) =>
      c.notNull().check(sql`outcome in ('allow', 'deny', 'success', 'failure')`),
    )
    .addColumn('resource', 'text')
    .addColumn('request_id', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('reason', 'text')
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  // GET /audit/:id, the unfiltered list (`order by id desc`) and a time range (ids carry the time).
  await db.schema.createIndex('audit_log_id_key').on('audit_log').column('id').unique().execute();
  // One per admin filter; each ends in `id`, so a filtered page is read in order, time range included.
  for (const column of ['action', 'actor_id', 'outcome']) {
    await db.schema
      .createIndex(`audit_log_${column}_id_idx`)
      .on('audit_log')
      .columns([column, 'id'])
      .execute();
  }

  await db.schema
    .createTable('audit_chain_head')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.insertInto('audit_chain_head').values({ id: 1, seq: 0, hash: GENESIS }).execute();

  if (postgres) {
    await sql`create function audit_log_append_only() returns trigger language plpgsql as $$
      begin raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege'; end
    $$`.execute(db);
    await sql`create trigger audit_log_no_change before update or delete on audit_log
      for each row execute function audit_log_append_only()`.execute(db);
    await sql`create trigger audit_log_no_truncate before truncate on audit_log
      for each statement execute function audit_log_append_only()`.execute(db);
  } else {
    // https://www.sqlite.org/lang_createtrigger.html#raise
    for (const event of ['update', 'delete']) {
      await sql`create trigger ${sql.raw(`audit_log_no_${event}`)} before ${sql.raw(event)} on audit_log
        begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
    }
  }
}
