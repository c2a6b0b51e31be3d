/**
 * Kysely's built-in `SqliteDialect` driven by Node's own `node:sqlite` (`DatabaseSync`).
 *
 * Why hand-written: Kysely's dialect expects better-sqlite3's `Database` shape, and better-sqlite3 is a
 * native addon that npm builds against the system Node's headers, which do not match the pinned Node 24
 * (DESIGN.md, "Avoid native addons"). We found no Kysely dialect for `node:sqlite` on npm, and the shape
 * Kysely needs is small (`SqliteDatabase` / `SqliteStatement` in kysely's `sqlite-dialect-config.d.ts`),
 * so the adapter lives here instead of in a dependency.
 *
 * Differences between the two APIs this adapter absorbs (https://nodejs.org/api/sqlite.html):
 * - better-sqlite3 takes parameters as an array; `StatementSync` takes them spread.
 * - `StatementSync` treats a plain object as its *first* argument as named parameters, so a stray object
 *   value would silently shift every positional parameter by one. We always pass an empty named-parameter
 *   object first, which makes every following value positional and makes objects an error.
 * - `node:sqlite` cannot bind booleans (or `undefined`); Kysely passes JS booleans, so true/false → 1/0.
 * - better-sqlite3's `statement.reader` is `columns().length > 0` here (RETURNING counts as a reader).
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { StoreOptionInvalid } from './errors.ts';

/**
 * `NORMAL` in WAL mode survives an application crash (`kill -9`) but may lose the last commits on power
 * loss or an OS crash; `FULL` syncs the WAL on every commit, which is what a durable ack ("on disk before
 * the 2xx", DESIGN.md) needs. https://www.sqlite.org/pragma.html#pragma_synchronous,
 * https://www.sqlite.org/wal.html#performance_considerations
 */
export type SqliteSynchronous = 'NORMAL' | 'FULL';

export interface SqliteOpenOptions {
  /** A file path or `:memory:`. */
  path: string;
  /** Defaults to `NORMAL`; the event store's durable-ack path asks for `FULL`. */
  synchronous?: SqliteSynchronous;
  /** How long a writer waits for another connection's lock before SQLITE_BUSY. Defaults to 5000. */
  busyTimeoutMs?: number;
}

const SYNCHRONOUS_MODES: ReadonlySet<string> = new Set<SqliteSynchronous>(['NORMAL', 'FULL']);

/** The subset of better-sqlite3's `Database` that Kysely uses, over one `DatabaseSync` connection. */
export class NodeSqliteDatabase implements SqliteDatabase {
  readonly raw: DatabaseSync;
  /** What `PRAGMA journal_mode=WAL` answered: `wal` for files, `memory` for `:memory:`. */
  readonly journalMode: string;

  constructor(options: SqliteOpenOptions) {
    const synchronous = options.synchronous ?? 'NORMAL';
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    // Both values end up inside PRAGMA text (PRAGMAs take no bound parameters), so only known values pass.
    if (!SYNCHRONOUS_MODES.has(synchronous)) {
      throw new JunctionError(StoreOptionInvalid, `synchronous must be NORMAL or FULL, got ${synchronous}`);
    }
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new JunctionError(StoreOptionInvalid, `busyTimeoutMs must be a non-negative integer`);
    }
    this.raw = new DatabaseSync(options.path);
    // busy_timeout first, so that switching to WAL waits for a concurrent opener instead of failing.
    this.raw.exec(`PRAGMA busy_timeout=${busyTimeoutMs}`);
    const mode = this.raw.prepare('PRAGMA journal_mode=WAL').get() as { journal_mode?: string } | undefined;
    this.journalMode = String(mode?.journal_mode ?? 'unknown');
    this.raw.exec(`PRAGMA synchronous=${synchronous}`);
    // node:sqlite enables foreign keys by default (`enableForeignKeyConstraints`); say it anyway.
    this.raw.exec('PRAGMA foreign_keys=ON');
  }

  prepare(sql: string): SqliteStatement {
    const statement = this.raw.prepare(sql);
    return {
      reader: statement.columns().length > 0,
      all: (parameters) => statement.all(NAMED, ...bindable(parameters)),
      run: (parameters) => statement.run(NAMED, ...bindable(parameters)),
      iterate: (parameters) => iterate(statement, parameters),
    };
  }

  close(): void {
    if (this.raw.isOpen) this.raw.close();
  }
}

/** Passed first so `StatementSync` never mistakes a positional value for named parameters. */
const NAMED: Record<string, SQLInputValue> = Object.freeze({});

function bindable(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map((value, i) => {
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (
      value === null ||
      typeof value === 'number' ||
      typeof value === 'bigint' ||
      typeof value === 'string' ||
      ArrayBuffer.isView(value)
    ) {
      return value as SQLInputValue;
    }
    // node:sqlite's own message ("cannot be bound to SQLite parameter 1") does not say what was passed.
    throw new TypeError(`SQLite parameter ${i + 1} is ${describe(value)}; convert it before binding`);
  });
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return `a ${value.constructor?.name ?? 'Object'}`;
  return `a ${typeof value}`;
}

function* iterate(statement: StatementSync, parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
  yield* statement.iterate(NAMED, ...bindable(parameters));
}

/**
 * Every Kysely transaction on SQLite starts with `BEGIN IMMEDIATE`: it takes the write lock up front, so
 * `busy_timeout` applies. A deferred `BEGIN` that reads and then writes fails at once with SQLITE_BUSY if
 * another connection wrote meanwhile, and the busy handler is not invoked for that upgrade
 * (https://www.sqlite.org/lang_transaction.html, "Deferred, Immediate, and Exclusive Transactions").
 * Our transactions exist to write (leases, queues), so taking the lock early costs nothing.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** `SqliteDialect` whose transactions begin immediate; everything else is Kysely's. */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;

  constructor(database: SqliteDatabase) {
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}
