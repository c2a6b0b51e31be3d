/**
 * Row types of every table, as Kysely sees them (https://kysely.dev/docs/getting-started#types).
 * Column names are the SQL names (snake_case); repositories map rows to camelCase domain objects.
 *
 * Timestamps are epoch milliseconds in BIGINT columns: one representation on both dialects, no time
 * zone handling, and well inside 2^53. `pg` would return BIGINT as a string; the pool parses it to a
 * number (src/store/postgres.ts), and node:sqlite returns INTEGER as a number already.
 */

export const CONFIG_REVISION_STATUSES = ['applied', 'rejected'] as const;
export type ConfigRevisionStatus = (typeof CONFIG_REVISION_STATUSES)[number];
export const CONFIG_REVISION_SOURCES = ['file', 'admin', 'start'] as const;
export type ConfigRevisionSource = (typeof CONFIG_REVISION_SOURCES)[number];
export const IDEMPOTENCY_STATES = ['locked', 'completed'] as const;
export type IdempotencyState = (typeof IDEMPOTENCY_STATES)[number];
export const DELIVERY_STATUSES = ['pending', 'leased', 'done', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface NodesTable {
  /** 0..1023: the Snowflake node id (src/core/ids.ts) this row leases. */
  node_id: number;
  /** Random per process start, so a restarted process never mistakes an old lease for its own. */
  instance_id: string;
  hostname: string | null;
  pid: number | null;
  started_at: number | null;
  heartbeat_at: number;
}

export interface ConfigRevisionsTable {
  /** `cfg_<snowflake>`: string order is time order, so the newest revision has the greatest id. */
  id: string;
  /** sha256 (hex) of the config source text. */
  hash: string;
  /** Plain text columns; ConfigRevisionRepository.record checks the values before writing. */
  status: ConfigRevisionStatus;
  source: ConfigRevisionSource;
  applied_by: string | null;
  error: string | null;
  created_at: number;
}

export interface ShardDirectoryTable {
  /** The route whose `shard.directory` this entry belongs to. */
  route: string;
  shard_key: string;
  /** Name of the upstream (shard) that holds the key. */
  upstream: string;
  updated_at: number;
}

export interface ApiKeysTable {
  /** `jk_<snowflake>`: the key's public id, in lists, logs and the `x-junction-principal` header. */
  id: string;
  /** The non-secret lookup part of the secret (src/ingress/policies/api-key/secret.ts). */
  prefix: string;
  /** SHA-256 of the whole secret, hex. The secret itself is never stored. */
  hash: string;
  name: string;
  /** JSON array of strings. */
  scopes: string;
  /** JSON array of strings. */
  roles: string;
  tenant: string | null;
  expires_at: number | null;
  revoked_at: number | null;
  created_at: number;
  /** Who created it: an admin token name, an API key id, `cli:<user>`. */
  created_by: string | null;
  /** Updated lazily, at most once a minute per key. */
  last_used_at: number | null;
}

/** One audit record (Q50); written only by AuditLogRepository.append, never updated or deleted. */
export interface AuditLogTable {
  /** Position in the hash chain: 1, 2, 3… with no gaps, assigned under the chain lock. */
  seq: number;
  /** `aud_<snowflake>`, issued when the action was recorded: string order is time order. */
  id: string;
  /** Epoch milliseconds: the time inside `id`. */
  at: number;
  actor_kind: string | null;
  actor_id: string | null;
  action: string;
  outcome: string;
  resource: string | null;
  request_id: string | null;
  client_ip: string | null;
  reason: string | null;
  /** JSON text, hashed as stored. */
  before: string | null;
  after: string | null;
  /** `hash` of the row at `seq - 1`; 64 zeros for the first row. */
  prev_hash: string;
  /** Hex SHA-256 over the row's fields and `prev_hash` (src/audit/chain.ts). */
  hash: string;
}

/** One row (id 1): the chain's last seq and hash. Appenders lock it, so the chain stays linear. */
export interface AuditChainHeadTable {
  id: number;
  seq: number;
  hash: string;
}

/**
 * A browser session of `auth.session` (src/store/sessions.ts). Token columns hold AES-256-GCM
 * ciphertexts sealed by the policy (`<keyVersion>.<base64url>`), never a usable token.
 */
export interface SessionsTable {
  /** SHA-256 (base64url) of the cookie value; the value itself is never stored. */
  id: string;
  /** Which `auth.session` config (issuer and client) the session belongs to. */
  realm: string;
  subject: string;
  /** JSON object: ID token and userinfo claims. */
  claims: string;
  scope: string | null;
  access_token: string;
  access_expires_at: number;
  refresh_token: string | null;
  id_token: string | null;
  /** Version of the key that sealed the token columns (key rotation). */
  key_version: number;
  created_at: number;
  last_seen_at: number;
  /** Idle expiry, never past `absolute_expires_at`; the sweep deletes by it. */
  expires_at: number;
  absolute_expires_at: number;
  /** A node refreshing the tokens holds this claim until then (cluster-wide refresh coalescing). */
  refresh_claimed_until: number | null;
}

/** A login waiting for the provider's callback: single-use, deleted when the callback takes it. */
export interface SessionLoginsTable {
  /** SHA-256 (base64url) of the OAuth `state`. */
  id: string;
  realm: string;
  /** SHA-256 (base64url) of the login cookie of the browser that started the login. */
  browser: string;
  nonce: string;
  /** Sealed like the session tokens. */
  code_verifier: string;
  return_to: string;
  created_at: number;
  expires_at: number;
}

/** `core.idempotency` (Q11): a lease on a key, then the response replayed for it (src/store/idempotency.ts). */
export interface IdempotencyKeysTable {
  scope: string;
  route: string;
  idempotency_key: string;
  /** SHA-256 (base64url) of method, target and body of the first request with the key. */
  fingerprint: string;
  state: IdempotencyState;
  /** Random per lease: only its holder may complete or release it. Null once completed. */
  lease_token: string | null;
  /** The lease may be taken over after this (its holder is presumed dead). Null once completed. */
  locked_until: number | null;
  status: number | null;
  /** JSON object of the stored response's header fields. */
  headers: string | null;
  /** node:sqlite returns BLOBs as Uint8Array, pg returns bytea as Buffer. */
  body: Uint8Array | null;
  created_at: number;
  completed_at: number | null;
  expires_at: number;
}

/** The event log (issue #6, Q24): one row per event received, written once (src/store/events.ts). */
export interface EventsTable {
  /** `evt_<snowflake>`: string order is arrival order. */
  id: string;
  /** The webhook source, poller or broker subscription it came from (config name). */
  source: string;
  type: string;
  /** The provider's event or delivery id; unique per source, null when the provider sends none. */
  external_id: string | null;
  /** Epoch milliseconds: the time inside `id`. */
  received_at: number;
  /** The raw body as received. node:sqlite returns BLOBs as Uint8Array, pg returns bytea as Buffer. */
  payload: Uint8Array;
  /** JSON object of the header fields kept with the event. */
  headers: string;
}

/**
 * The work queue (src/store/deliveries.ts): one row per event and subscription. The migration's check
 * constraints hold `next_attempt_at` non-null exactly while pending or leased (a leased row's is its
 * lease expiry) and the lease columns set exactly while leased.
 */
export interface DeliveriesTable {
  /** `dlv_<snowflake>`, issued with the event: string order is the event's arrival order. */
  id: string;
  event_id: string;
  /** The subscription (config name) this delivery is for. */
  subscription: string;
  status: DeliveryStatus;
  /** Claims so far, the one in progress included. */
  attempts: number;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  last_status: number | null;
  created_at: number;
  updated_at: number;
}

/** Message ids an idempotent consumer has processed (Q25, src/store/inbox.ts). */
export interface InboxTable {
  consumer: string;
  message_id: string;
  processed_at: number;
}

/** Where a poller stands in a source without webhooks, and who polls it (src/store/poll-cursors.ts). */
export interface PollCursorsTable {
  source: string;
  /** Opaque to the store: a page token, a since-timestamp, an id. */
  cursor: string | null;
  /** The last response's ETag, for `If-None-Match` on the next poll. */
  etag: string | null;
  updated_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  /** Fencing token: raised by every acquisition; writes under a lease must present the current one. */
  fence: number;
}

/** Outbound webhooks (issue #7): one application per customer (src/store/webhook-apps.ts). */
export interface WebhookAppsTable {
  /** `app_<snowflake>`. */
  id: string;
  /** '' when the application belongs to no tenant. */
  tenant: string;
  /** The sender's own id for the application; unique per tenant among live rows. */
  uid: string | null;
  name: string;
  /** Deliveries per second per endpoint (the endpoint's own limit wins); null: none. */
  rate_limit: number | null;
  /** JSON array of retry delays in ms for its endpoints (theirs win); null: the settings'. */
  retry_schedule: string | null;
  created_at: number;
  updated_at: number;
  /** Soft delete (Q48): hidden, sent nothing, restorable until purged. */
  deleted_at: number | null;
}

/** A customer's URL and what it receives (src/store/webhook-endpoints.ts). */
export interface WebhookEndpointsTable {
  /** `ep_<snowflake>`. */
  id: string;
  app_id: string;
  uid: string | null;
  url: string;
  description: string;
  /** JSON array of event type names; null: all. */
  filter_types: string | null;
  /** JSON array of channels; null: messages of any channel. */
  channels: string | null;
  /** JSON object of extra request headers. */
  headers: string;
  /** The current `whsec_…` secret. */
  secret: string;
  /** JSON `[{ "secret": "whsec_…", "expires_at": <ms> }]`: rotated-out secrets still signing. */
  previous_secrets: string;
  disabled_at: number | null;
  rate_limit: number | null;
  /** JSON array of retry delays in ms; null: the application's, else the settings'. */
  retry_schedule: string | null;
  /** Attempts in flight at once; null: no limit. */
  max_concurrency: number | null;
  /** Start of the current run of failed attempts; null while the last attempt succeeded. */
  failing_since: number | null;
  /** Ed25519 private key (`whsk_…`, possibly sealed) adding `v1a` signatures; null: none. */
  signing_key: string | null;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface WebhookEventTypesTable {
  name: string;
  description: string;
  /** Latest schema version; 0 while there is none. */
  version: number;
  created_at: number;
  updated_at: number;
  /** Archived. */
  deleted_at: number | null;
}

export interface WebhookEventTypeSchemasTable {
  event_type: string;
  version: number;
  /** JSON Schema text. */
  schema: string;
  /** The compatibility mode checked against the previous version. */
  compatibility: string;
  created_at: number;
}

/** One message sent to an application (src/store/webhook-messages.ts). */
export interface WebhookMessagesTable {
  /** `msg_<snowflake>`. */
  id: string;
  app_id: string;
  event_type: string;
  /** The sender's id, unique per application. */
  event_id: string | null;
  /** JSON array, or null. */
  channels: string | null;
  /** JSON text; null once past payload retention. */
  payload: string | null;
  schema_version: number;
  /** The `events` row (source `app:<app id>`) whose deliveries carry it. */
  queue_event_id: string;
  created_at: number;
}

export const WEBHOOK_ATTEMPT_STATUSES = ['succeeded', 'failed'] as const;
export type WebhookAttemptStatus = (typeof WEBHOOK_ATTEMPT_STATUSES)[number];

export interface WebhookMessageAttemptsTable {
  /** `atmpt_<snowflake>`. */
  id: string;
  app_id: string;
  message_id: string;
  endpoint_id: string;
  status: WebhookAttemptStatus;
  response_status: number | null;
  /** At most 20 kB of the answer. */
  response_body: string | null;
  /** JSON object. */
  response_headers: string | null;
  duration_ms: number;
  error: string | null;
  created_at: number;
}

export interface Database {
  nodes: NodesTable;
  config_revisions: ConfigRevisionsTable;
  shard_directory: ShardDirectoryTable;
  sessions: SessionsTable;
  session_logins: SessionLoginsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  audit_chain_head: AuditChainHeadTable;
  idempotency_keys: IdempotencyKeysTable;
  events: EventsTable;
  deliveries: DeliveriesTable;
  inbox: InboxTable;
  poll_cursors: PollCursorsTable;
  webhook_apps: WebhookAppsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_event_types: WebhookEventTypesTable;
  webhook_event_type_schemas: WebhookEventTypeSchemasTable;
  webhook_messages: WebhookMessagesTable;
  webhook_message_attempts: WebhookMessageAttemptsTable;
}
