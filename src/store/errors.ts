/**
 * Error codes of the store layer (STYLE.md §5). Codes are stable: callers and docs/errors.md key on
 * them, so a code is never renamed or reused for another meaning.
 */
import { defineError } from '../core/errors.ts';

/** The database URL has a scheme the store does not speak; the message names the scheme only. */
export const StoreUrlInvalid = defineError('store_url_invalid', 500, 'Database URL is not supported');
/** An option passed to `openStore` is outside its allowed values (schema name, synchronous mode). */
export const StoreOptionInvalid = defineError('store_option_invalid', 500, 'Store option is invalid');
/** The database could not be reached or opened. */
export const StoreUnavailable = defineError('store_unavailable', 503, 'Database is unavailable');
/** A migration failed; the cause carries the database error. */
export const StoreMigrationFailed = defineError('store_migration_failed', 500, 'Database migration failed');
/** All 1024 Snowflake node ids are held by live instances (src/core/ids.ts: 10 bits of node id). */
export const StoreNodeIdsExhausted = defineError(
  'store_node_ids_exhausted',
  503,
  'No free node id: all 1024 are leased by live instances',
);
/** A page size outside 1..1000 was asked for. */
export const StorePageLimitInvalid = defineError('store_page_limit_invalid', 400, 'Page limit is invalid');
/** A value handed to a repository breaks the table's rules (id prefix, status or source values). */
export const StoreRecordInvalid = defineError('store_record_invalid', 500, 'Record is invalid');
