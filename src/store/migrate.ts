/**
 * Runs the migrations in ./migrations/index.ts with Kysely's Migrator
 * (https://kysely.dev/docs/migrations). `junction migrate` calls this through `store.migrate()`.
 *
 * PostgreSQL runs all pending migrations in one transaction under an advisory lock, so concurrent
 * starters queue up and the loser finds nothing left to do. SQLite's adapter reports no transactional
 * DDL to Kysely, so there each migration runs outside a transaction and two processes must not
 * migrate the same file at once: run `junction migrate` once, then start the nodes.
 */
import type { Kysely } from 'kysely';
import { type MigrationResultSet, Migrator } from 'kysely/migration';
import { JunctionError } from '../core/errors.ts';
import { StoreMigrationFailed } from './errors.ts';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';

export interface MigrateResult {
  /** Names applied by this call, in order; empty when the schema was already current. */
  applied: string[];
}

export async function migrate(db: Kysely<Database>, pgSchema?: string): Promise<MigrateResult> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Keep Kysely's bookkeeping tables beside ours when a schema is chosen: without this the Migrator
    // finds `kysely_migration` in any schema (e.g. public) and then queries it through search_path.
    ...(pgSchema === undefined ? {} : { migrationTableSchema: pgSchema }),
  });
  let result: MigrationResultSet = await migrator.migrateToLatest();
  // Kysely's Migrator looks for its table by introspecting every schema of the database
  // (`has_schema_privilege` per schema); a schema another client drops during that scan fails it
  // with 3F000 invalid_schema_name before anything was applied. Scanning again is safe.
  for (let attempt = 1; attempt < 5 && isSchemaDroppedDuringScan(result.error, pgSchema); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    result = await migrator.migrateToLatest();
  }
  if (result.error !== undefined) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    throw new JunctionError(StoreMigrationFailed, `migration ${failed ?? '(setup)'} failed`, {
      cause: result.error,
    });
  }
  return {
    applied: (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
  };
}

function isSchemaDroppedDuringScan(err: unknown, ours: string | undefined): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (e?.code !== '3F000') return false;
  return ours === undefined || !String(e.message).includes(`"${ours}"`);
}
