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

export interface Database {
  nodes: NodesTable;
  config_revisions: ConfigRevisionsTable;
  shard_directory: ShardDirectoryTable;
  api_keys: ApiKeysTable;
}
