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
  AUDIT_OUTCOMES,
  type AuditFilter,
  AuditLogRepository,
  type AuditOutcome,
  type AuditRecord,
  type ChainHead,
  type ChainLinker,
  type ListAuditOptions,
  type UnchainedAuditRecord,
} from './audit-log.ts';
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
export {
  type BeginOptions,
  type IdempotencyBegin,
  type IdempotencyRef,
  IdempotencyRepository,
  type StoredResponse,
} from './idempotency.ts';
export type { MigrateResult } from './migrate.ts';
export { type NodeLease, NodeRepository, type NodeRepositoryOptions } from './nodes.ts';
export { type OpenStoreOptions, openStore, type Store } from './open.ts';
export { poolErrorChannel } from './postgres.ts';
export {
  type ApiKeysTable,
  type AuditChainHeadTable,
  type AuditLogTable,
  CONFIG_REVISION_SOURCES,
  CONFIG_REVISION_STATUSES,
  type ConfigRevisionSource,
  type ConfigRevisionStatus,
  type ConfigRevisionsTable,
  type Database,
  IDEMPOTENCY_STATES,
  type IdempotencyKeysTable,
  type IdempotencyState,
  type NodesTable,
  type SessionLoginsTable,
  type SessionsTable,
  type ShardDirectoryTable,
} from './schema.ts';
export { type PendingLogin, type SessionRecord, SessionRepository, type SessionTokens } from './sessions.ts';
export { ShardDirectoryRepository, type ShardEntry, type ShardPage } from './shard-directory.ts';
export type { SqliteSynchronous } from './sqlite-dialect.ts';
export { parseStoreUrl, resolveStoreTarget, type StoreTarget } from './url.ts';
