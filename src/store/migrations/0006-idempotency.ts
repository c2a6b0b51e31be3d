/**
 * Idempotency keys of `core.idempotency` (Q11): one row per (scope, route, key), first a lease
 * (`locked`), then the stored response (`completed`) until `expires_at`. Released: never edit, add a
 * migration instead (./index.ts).
 */
import { type Kysely, PostgresAdapter, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('idempotency_keys')
    // Principal id (`p:`), client IP (`ip:`) or `anonymous`: one client's keys never meet another's.
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    // SHA-256 of method, target and body: the same key with another payload is refused.
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('locked', 'completed')`))
    .addColumn('lease_token', 'text')
    .addColumn('locked_until', 'bigint')
    .addColumn('status', 'integer')
    .addColumn('headers', 'text')
    .addColumn('body', postgres ? 'bytea' : 'blob')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    // The lease is taken by an insert that conflicts on this key (IdempotencyRepository.claimQuery).
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'route', 'idempotency_key'])
    .execute();
  // Serves the retention sweep: `where expires_at <= now order by expires_at limit n`.
  await db.schema
    .createIndex('idempotency_keys_expires_at_idx')
    .on('idempotency_keys')
    .column('expires_at')
    .execute();
}
