/**
 * API keys (src/store/api-keys.ts). Released: never edit, add a migration instead (./index.ts).
 *
 * Only a SHA-256 digest of each secret is stored (OWASP API Security Top 10 2023 API2, and the
 * OWASP Password Storage Cheat Sheet: a fast hash is enough for a 256-bit random secret, salting and
 * stretching guard low-entropy passwords). `prefix` is the non-secret lookup part of the secret.
 */
import { type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('api_keys')
    // `jk_<snowflake>`: string order is time order, so "newest first" is `order by id desc`.
    .addColumn('id', 'text', (c) => c.modifyFront(byteOrder(db)).primaryKey())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('tenant', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('last_used_at', 'bigint')
    .execute();
  // Serves the lookup of every request carrying a key; unique, so one prefix names one key.
  await db.schema.createIndex('api_keys_prefix_key').on('api_keys').column('prefix').unique().execute();
  // Serves a tenant's list, newest first, with an id cursor (the unfiltered list uses the primary key).
  await db.schema.createIndex('api_keys_tenant_id_idx').on('api_keys').columns(['tenant', 'id']).execute();
}

/** Byte order for ids on both dialects; see 0001-core.ts for why. */
// biome-ignore lint/suspicious/noExplicitAny: see up().
function byteOrder(db: Kysely<any>): RawBuilder<unknown> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql`collate "C"` : sql`collate binary`;
}
