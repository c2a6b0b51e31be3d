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
  type Delivery,
  type DeliveryFilter,
  DeliveryRepository,
  type ListDeliveriesOptions,
  MAX_ERROR_LENGTH,
  MAX_SPACING_MS,
} from './deliveries.ts';
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
  type AppendResult,
  type DedupeKey,
  type EventFilter,
  EventRepository,
  type IdIssuer,
  type ListEventsOptions,
  type NewEvent,
  type StoredEvent,
} from './events.ts';
export type { TimeRange } from './id-range.ts';
export {
  type BeginOptions,
  type IdempotencyBegin,
  type IdempotencyRef,
  IdempotencyRepository,
  type StoredResponse,
} from './idempotency.ts';
export { InboxRepository, type InboxResult } from './inbox.ts';
export type { MigrateResult } from './migrate.ts';
export { type NodeLease, NodeRepository, type NodeRepositoryOptions } from './nodes.ts';
export { type OpenStoreOptions, openStore, type Store } from './open.ts';
export { type PollCursor, PollCursorRepository, type PollLease, type PollPosition } from './poll-cursors.ts';
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
  DELIVERY_STATUSES,
  type DeliveriesTable,
  type DeliveryStatus,
  type EventsTable,
  IDEMPOTENCY_STATES,
  type IdempotencyKeysTable,
  type IdempotencyState,
  type InboxTable,
  type NodesTable,
  type PollCursorsTable,
  type SessionLoginsTable,
  type SessionsTable,
  type ShardDirectoryTable,
  WEBHOOK_ATTEMPT_STATUSES,
  type WebhookAppsTable,
  type WebhookAttemptStatus,
  type WebhookEndpointsTable,
  type WebhookEventTypeSchemasTable,
  type WebhookEventTypesTable,
  type WebhookMessageAttemptsTable,
  type WebhookMessagesTable,
} from './schema.ts';
export { type PendingLogin, type SessionRecord, SessionRepository, type SessionTokens } from './sessions.ts';
export { ShardDirectoryRepository, type ShardEntry, type ShardPage } from './shard-directory.ts';
export type { SqliteSynchronous } from './sqlite-dialect.ts';
export { parseStoreUrl, resolveStoreTarget, type StoreTarget } from './url.ts';
export {
  type ListWebhookAppsOptions,
  type NewWebhookApp,
  type WebhookApp,
  type WebhookAppPatch,
  WebhookAppRepository,
} from './webhook-apps.ts';
export {
  type ListWebhookEndpointsOptions,
  MAX_PREVIOUS_SECRETS,
  type NewWebhookEndpoint,
  type PreviousSecret,
  type WebhookEndpoint,
  type WebhookEndpointPatch,
  WebhookEndpointRepository,
} from './webhook-endpoints.ts';
export {
  type OffsetPage,
  type WebhookEventType,
  WebhookEventTypeRepository,
  type WebhookEventTypeSchema,
} from './webhook-event-types.ts';
export {
  appSource,
  endpointSubscription,
  type ListAttemptsOptions,
  type ListMessagesOptions,
  MAX_RESPONSE_BODY_CHARS,
  matches as webhookEndpointMatches,
  messageIdOf,
  type NewWebhookAttempt,
  type NewWebhookMessage,
  queueEventIdOf,
  type SendResult,
  type WebhookAttempt,
  type WebhookMessage,
  WebhookMessageRepository,
} from './webhook-messages.ts';
export {
  type DeadLetter,
  type RecoveryFilter,
  type RecoveryPage,
  type ResendResult,
  WebhookRecoveryRepository,
} from './webhook-recovery.ts';
export { WebhookRepositories } from './webhooks.ts';
