/**
 * The `pg` pool behind Kysely's `PostgresDialect` (https://kysely.dev/docs/dialects,
 * https://node-postgres.com/apis/pool).
 */
import diagnostics from 'node:diagnostics_channel';
import { Pool, TypeOverrides } from 'pg';
import { JunctionError } from '../core/errors.ts';
import { StoreOptionInvalid } from './errors.ts';

/** Published when an idle pooled connection fails (server restart, network cut); the pool drops it. */
export const poolErrorChannel = diagnostics.channel('junction.store.pool.error');

export interface PostgresPoolOptions {
  url: string;
  /** Pool size per process; defaults to 10 (pg's own default). */
  max?: number;
  /** Schema to create tables in and resolve names against; see `openStore`. */
  schema?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;
const INT8_OID = 20;

/** Throws `store_option_invalid` unless `name` is a plain lowercase identifier (it goes into startup options). */
export function checkSchemaName(name: string): string {
  if (!SCHEMA_NAME.test(name) || name.length > 63) {
    throw new JunctionError(StoreOptionInvalid, `pgSchema must match ${SCHEMA_NAME} (max 63 chars)`);
  }
  return name;
}

export function createPool(options: PostgresPoolOptions): Pool {
  const max = options.max ?? 10;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new JunctionError(StoreOptionInvalid, 'pool max must be a positive integer');
  }
  // Per pool, not pg.types.setTypeParser: the global parser would change BIGINT for every other pg user
  // in the process. BIGINT columns hold epoch milliseconds, exact as numbers; a value beyond 2^53 comes
  // back as a bigint rather than silently losing digits.
  const types = new TypeOverrides();
  types.setTypeParser(INT8_OID, 'text', parseInt8);
  const pool = new Pool({
    connectionString: options.url,
    max,
    types,
    // search_path as a startup parameter applies to every connection the pool opens, before any query
    // runs, so no per-checkout SET is needed (https://www.postgresql.org/docs/current/libpq-connect.html,
    // "options"). The name is checked above, because it is not a bound parameter.
    ...(options.schema === undefined ? {} : { options: `-c search_path=${checkSchemaName(options.schema)}` }),
  });
  // Without a listener, an idle client's error is an uncaught 'error' event and ends the process.
  pool.on('error', (error) => {
    if (poolErrorChannel.hasSubscribers) poolErrorChannel.publish({ error });
  });
  return pool;
}

function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}
