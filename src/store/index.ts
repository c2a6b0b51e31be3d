/**
 * The store layer's public surface (STYLE.md §1): other folders import from here only.
 * See docs/store.md.
 */
export {
  type ApiKey,
  ApiKeyRepository,
  LAST_USED_RESOLUTION_MS,
  type ListApiKeysOptions,
  type NewApiKey,
} from './api-keys.ts';
export {
  type ConfigRevision,
  ConfigRevisionRepository,
  type ListRevisionsOptions,
  MAX_PAGE_LIMIT,
  type NewConfigRevision,
  type Page,
} from './config-revisions.ts';
export {
  StoreMigrationFailed,
  StoreNodeIdsExhausted,
  StoreOptionInvalid,
  StorePageLimitInvalid,
  StoreRecordInvalid,
  StoreUnavailable,
  StoreUrlInvalid,
} from './errors.ts';
export type { MigrateResult } from './migrate.ts';
export { type NodeLease, NodeRepository, type NodeRepositoryOptions } from './nodes.ts';
export { type OpenStoreOptions, openStore, type Store } from './open.ts';
export { poolErrorChannel } from './postgres.ts';
export {
  type ApiKeysTable,
  CONFIG_REVISION_SOURCES,
  CONFIG_REVISION_STATUSES,
  type ConfigRevisionSource,
  type ConfigRevisionStatus,
  type ConfigRevisionsTable,
  type Database,
  type NodesTable,
  type ShardDirectoryTable,
} from './schema.ts';
export { ShardDirectoryRepository, type ShardEntry, type ShardPage } from './shard-directory.ts';
export type { SqliteSynchronous } from './sqlite-dialect.ts';
export { parseStoreUrl, resolveStoreTarget, type StoreTarget } from './url.ts';
