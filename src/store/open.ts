/**
 * Opens the store: one Kysely instance over SQLite (embedded mode) or PostgreSQL (cluster mode), chosen
 * by URL (src/store/url.ts), plus the repositories. Connecting happens here, not on first query, so a
 * wrong URL or an unreachable server fails at startup with `store_unavailable`.
 */
import { mkdirSync } from 'node:fs';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { ApiKeyRepository } from './api-keys.ts';
import { AuditLogRepository } from './audit-log.ts';
import { ConfigRevisionRepository } from './config-revisions.ts';
import { DeliveryRepository } from './deliveries.ts';
import { StoreUnavailable } from './errors.ts';
import { EventRepository } from './events.ts';
import { IdempotencyRepository } from './idempotency.ts';
import { InboxRepository } from './inbox.ts';
import { type MigrateResult, migrate } from './migrate.ts';
import { NodeRepository } from './nodes.ts';
import { PollCursorRepository } from './poll-cursors.ts';
import { checkSchemaName, createPool } from './postgres.ts';
import type { Database } from './schema.ts';
import { SessionRepository } from './sessions.ts';
import { ShardDirectoryRepository } from './shard-directory.ts';
import { ImmediateSqliteDialect, NodeSqliteDatabase, type SqliteSynchronous } from './sqlite-dialect.ts';
import { resolveStoreTarget } from './url.ts';
import { WebhookRepositories } from './webhooks.ts';

export interface OpenStoreOptions {
  /** `sqlite:<path>`, `sqlite::memory:`, `postgres://…`; defaults to `JUNCTION_DATABASE_URL`. */
  url?: string;
  /** Where the default SQLite file lives; defaults to `JUNCTION_DATA_DIR`, then `./data`. */
  dataDir?: string;
  /** SQLite only; see `SqliteSynchronous`. */
  synchronous?: SqliteSynchronous;
  /** PostgreSQL only: tables live in this schema (created if missing). Used by tests for isolation. */
  pgSchema?: string;
  /** PostgreSQL only: pool size, default 10. */
  poolMax?: number;
  /** Environment to read the defaults from; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface Store {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** Applies pending migrations; safe to call on every start. */
  migrate(): Promise<MigrateResult>;
  /** Closes the connection (SQLite) or drains the pool (PostgreSQL). */
  close(): Promise<void>;
  nodes: NodeRepository;
  configRevisions: ConfigRevisionRepository;
  shards: ShardDirectoryRepository;
  /** Leases and stored responses of `core.idempotency` (Q11). */
  idempotency: IdempotencyRepository;
  /** Append-only, hash-chained (Q50); written through src/audit/, not directly. */
  auditLog: AuditLogRepository;
  apiKeys: ApiKeyRepository;
  /** Browser sessions and pending logins of `auth.session`; ids hashed, tokens sealed by the policy. */
  sessions: SessionRepository;
  /** The event log (issue #6): events and their deliveries, appended atomically, deduplicated. */
  events: EventRepository;
  /** The delivery work queue: leases, retries, dead letters, replay. */
  deliveries: DeliveryRepository;
  /** Idempotent consumers (Q25): an effect and the record of its message id in one transaction. */
  inbox: InboxRepository;
  /** Poller positions and the fenced lease that lets one node poll a source at a time. */
  pollCursors: PollCursorRepository;
  /** Outbound webhooks (issue #7): applications, endpoints, event types, messages, attempts. */
  webhooks: WebhookRepositories;
}

/**
 * @example
 * const store = await openStore({ dataDir: './data' });
 * await store.migrate();
 * const nodeId = await store.nodes.lease(instanceId, 30_000);
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  const target = resolveStoreTarget(options, options.env);
  if (target.dialect === 'sqlite') {
    let database: NodeSqliteDatabase;
    try {
      if (target.dir !== undefined) mkdirSync(target.dir, { recursive: true });
      database = new NodeSqliteDatabase({ path: target.path, synchronous: options.synchronous });
    } catch (cause) {
      if (cause instanceof JunctionError) throw cause;
      throw new JunctionError(StoreUnavailable, `cannot open SQLite database ${target.path}`, { cause });
    }
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect(database) });
    return assemble(db, 'sqlite', undefined, async () => {
      await db.destroy();
      // Kysely closes the database only if a query ever initialized its driver.
      database.close();
    });
  }

  const schema = options.pgSchema === undefined ? undefined : checkSchemaName(options.pgSchema);
  const pool = createPool({ url: target.url, max: options.poolMax, schema });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (schema === undefined) await sql`select 1`.execute(db);
    else await createSchema(db, schema);
  } catch (cause) {
    await db.destroy();
    throw new JunctionError(StoreUnavailable, 'cannot reach PostgreSQL', { cause });
  }
  return assemble(db, 'postgres', schema, () => db.destroy());
}

function assemble(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
  pgSchema: string | undefined,
  close: () => Promise<void>,
): Store {
  let closing: Promise<void> | undefined;
  return {
    db,
    dialect,
    migrate: () => migrate(db, dialect, pgSchema),
    close: () => {
      closing ??= close();
      return closing;
    },
    nodes: new NodeRepository(db, dialect),
    configRevisions: new ConfigRevisionRepository(db),
    shards: new ShardDirectoryRepository(db),
    idempotency: new IdempotencyRepository(db, dialect),
    auditLog: new AuditLogRepository(db, dialect),
    apiKeys: new ApiKeyRepository(db),
    sessions: new SessionRepository(db),
    events: new EventRepository(db),
    deliveries: new DeliveryRepository(db, dialect),
    inbox: new InboxRepository(db),
    pollCursors: new PollCursorRepository(db),
    webhooks: new WebhookRepositories(db),
  };
}

/** Several nodes may start at once; `if not exists` still races in the catalog, so that loser is fine. */
async function createSchema(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await db.schema.createSchema(schema).ifNotExists().execute();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // 23505 unique_violation on pg_namespace, 42P06 duplicate_schema (https://www.postgresql.org/docs/current/errcodes-appendix.html)
    if (code !== '23505' && code !== '42P06') throw error;
  }
}
