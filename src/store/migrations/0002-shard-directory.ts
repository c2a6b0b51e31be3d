/**
 * The shard directory (Q22): which upstream shard holds a key, for routes that shard by directory
 * lookup. Released: never edit, add a migration instead (./index.ts).
 */
import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema of their own time, not today's Database type.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('shard_directory')
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('shard_key', 'text', (c) => c.notNull())
    .addColumn('upstream', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    // Serves every query: lookup by (route, key), and listing one route's keys in key order.
    .addPrimaryKeyConstraint('shard_directory_pk', ['route', 'shard_key'])
    .execute();
}
