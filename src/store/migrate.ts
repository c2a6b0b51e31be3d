/**
 * Runs the migrations in ./migrations/index.ts with Kysely's Migrator
 * (https://kysely.dev/docs/migrations). `junction migrate` calls this through `store.migrate()`.
 *
 * PostgreSQL runs all pending migrations in one transaction under an advisory lock, so concurrent
 * starters queue up and the loser finds nothing left to do. SQLite's adapter reports no transactional
 * DDL to Kysely, so there each migration runs outside a transaction and two processes must not
 * migrate the same file at once: run `junction migrate` once, then start the nodes.
 */
import { type DatabaseIntrospector, type Kysely, type SchemaMetadata, sql, type TableMetadata } from 'kysely';
import { Migrator } from 'kysely/migration';
import { JunctionError } from '../core/errors.ts';
import { StoreMigrationFailed } from './errors.ts';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';

export interface MigrateResult {
  /** Names applied by this call, in order; empty when the schema was already current. */
  applied: string[];
}

export async function migrate(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
  pgSchema?: string,
): Promise<MigrateResult> {
  const migrator = new Migrator({
    db: dialect === 'postgres' ? withScopedIntrospection(db, pgSchema) : db,
    provider: { getMigrations: async () => migrations },
    // Keep Kysely's bookkeeping tables beside ours when a schema is chosen: without this the Migrator
    // finds `kysely_migration` in any schema (e.g. public) and then queries it through search_path.
    ...(pgSchema === undefined ? {} : { migrationTableSchema: pgSchema }),
  });
  const result = await migrator.migrateToLatest();
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

/**
 * Kysely's Migrator asks whether its bookkeeping tables exist by introspecting every table of every
 * schema (PostgresIntrospector.getTables calls `has_schema_privilege(nspname)` per row, in parallel
 * workers). A schema another client drops during that scan fails it with 3F000 invalid_schema_name,
 * which on a shared server (CI runs many suites on one PostgreSQL) happens often enough to matter.
 * The Migrator only needs to know about its own schema, so it gets a view of `db` whose introspector
 * looks there alone; everything else is the real instance (bound, so its private fields resolve).
 */
function withScopedIntrospection(db: Kysely<Database>, pgSchema: string | undefined): Kysely<Database> {
  const introspection = new OwnSchemaIntrospector(db, pgSchema);
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'introspection') return introspection;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

class OwnSchemaIntrospector implements DatabaseIntrospector {
  readonly #db: Kysely<Database>;
  readonly #schema: string | undefined;

  constructor(db: Kysely<Database>, schema: string | undefined) {
    this.#db = db;
    this.#schema = schema;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<{ name: string }>`
      select nspname as name from pg_catalog.pg_namespace where nspname = ${this.#schemaName()}`.execute(
      this.#db,
    );
    return rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const { rows } = await sql<{ name: string; schema: string }>`
      select c.relname as name, n.nspname as schema
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = ${this.#schemaName()} and c.relkind in ('r', 'p')`.execute(this.#db);
    return rows.map((r) => ({ ...r, isView: false, isForeign: false, columns: [] }));
  }

  async getMetadata(): Promise<{ tables: TableMetadata[] }> {
    return { tables: await this.getTables() };
  }

  #schemaName() {
    // Without a chosen schema, unqualified tables (Kysely's included) go to current_schema().
    return this.#schema === undefined ? sql`current_schema()` : sql`${this.#schema}`;
  }
}
