/**
 * Outbound webhook endpoints (issue #7): a customer's URL, what it receives (event types, channels),
 * extra headers, its signing secrets and limits. Soft delete as for applications
 * (src/store/webhook-apps.ts): a deleted endpoint is hidden and gets no new messages, `restore`
 * brings it back within retention, `purge` removes it.
 *
 * Secrets: `secret` signs every request; a rotation moves it to `previous_secrets` with an expiry
 * and both sign until then (Standard Webhooks "Key rotation"), at most MAX_PREVIOUS_SECRETS of them.
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { checkLimit } from './checks.ts';
import type { Page } from './config-revisions.ts';
import type { Database, WebhookEndpointsTable } from './schema.ts';

export interface PreviousSecret {
  secret: string;
  /** Epoch ms: it stops signing then. */
  expiresAt: number;
}

export interface WebhookEndpoint {
  /** `ep_<snowflake>`. */
  id: string;
  appId: string;
  uid: string | null;
  url: string;
  description: string;
  /** Event types it receives; null: all. */
  filterTypes: string[] | null;
  /** Channels it receives; null: messages of any channel. */
  channels: string[] | null;
  headers: Record<string, string>;
  secret: string;
  previousSecrets: PreviousSecret[];
  disabledAt: number | null;
  rateLimit: number | null;
  /** Retry delays in ms; null: the application's, else the settings'. */
  retryScheduleMs: number[] | null;
  /** Attempts in flight at once; null: no limit. */
  maxConcurrency: number | null;
  /** Start of the current run of failed attempts; null while the last attempt succeeded. */
  failingSince: number | null;
  /** Ed25519 private key adding `v1a` signatures, as stored (possibly sealed); null: none. */
  signingKey: string | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

export interface NewWebhookEndpoint {
  id: string;
  appId: string;
  uid?: string | null;
  url: string;
  description?: string;
  filterTypes?: string[] | null;
  channels?: string[] | null;
  headers?: Record<string, string>;
  secret: string;
  disabled?: boolean;
  rateLimit?: number | null;
  retryScheduleMs?: number[] | null;
  maxConcurrency?: number | null;
  signingKey?: string | null;
  now: number;
}

export interface WebhookEndpointPatch {
  url?: string;
  description?: string;
  filterTypes?: string[] | null;
  channels?: string[] | null;
  headers?: Record<string, string>;
  disabled?: boolean;
  rateLimit?: number | null;
  retryScheduleMs?: number[] | null;
  maxConcurrency?: number | null;
  signingKey?: string | null;
}

export interface ListWebhookEndpointsOptions {
  limit: number;
  after?: string;
}

/** Rotated-out secrets kept signing at most (issue #7: ≤ 10 old keys). */
export const MAX_PREVIOUS_SECRETS = 10;

type Db = Kysely<Database>;

export class WebhookEndpointRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The new endpoint, or undefined when a live endpoint of the application has the uid. */
  async create(input: NewWebhookEndpoint): Promise<WebhookEndpoint | undefined> {
    const row: WebhookEndpointsTable = {
      id: input.id,
      app_id: input.appId,
      uid: input.uid ?? null,
      url: input.url,
      description: input.description ?? '',
      filter_types: jsonOrNull(input.filterTypes),
      channels: jsonOrNull(input.channels),
      headers: JSON.stringify(input.headers ?? {}),
      secret: input.secret,
      previous_secrets: '[]',
      disabled_at: input.disabled === true ? input.now : null,
      rate_limit: input.rateLimit ?? null,
      retry_schedule: jsonOrNull(input.retryScheduleMs),
      max_concurrency: input.maxConcurrency ?? null,
      failing_since: null,
      signing_key: input.signingKey ?? null,
      created_at: input.now,
      updated_at: input.now,
      deleted_at: null,
    };
    const inserted = await this.insertQuery(row).executeTakeFirst();
    return inserted && toEndpoint(inserted);
  }

  /** A live endpoint of the application (or, with `deleted`, a soft-deleted one too). */
  async get(appId: string, id: string, options: { deleted?: boolean } = {}) {
    const row = await this.getQuery(appId, id).executeTakeFirst();
    if (row === undefined || (row.deleted_at !== null && options.deleted !== true)) return undefined;
    return toEndpoint(row);
  }

  /** Any endpoint by id, deleted or not (the delivery worker's lookup). */
  async byId(id: string): Promise<WebhookEndpoint | undefined> {
    const row = await this.byIdQuery(id).executeTakeFirst();
    return row && toEndpoint(row);
  }

  /** The application's live endpoints, newest first. */
  async list(appId: string, options: ListWebhookEndpointsOptions): Promise<Page<WebhookEndpoint>> {
    const rows = await this.listQuery(appId, options).execute();
    const items = rows.slice(0, options.limit).map(toEndpoint);
    const last = items.at(-1);
    return rows.length > options.limit && last ? { items, next: last.id } : { items };
  }

  async update(appId: string, id: string, patch: WebhookEndpointPatch, now: number) {
    const current = await this.get(appId, id);
    if (current === undefined) return undefined;
    const set: Partial<WebhookEndpointsTable> = { updated_at: now };
    if (patch.url !== undefined) set.url = patch.url;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.filterTypes !== undefined) set.filter_types = jsonOrNull(patch.filterTypes);
    if (patch.channels !== undefined) set.channels = jsonOrNull(patch.channels);
    if (patch.headers !== undefined) set.headers = JSON.stringify(patch.headers);
    if (patch.rateLimit !== undefined) set.rate_limit = patch.rateLimit;
    if (patch.retryScheduleMs !== undefined) set.retry_schedule = jsonOrNull(patch.retryScheduleMs);
    if (patch.maxConcurrency !== undefined) set.max_concurrency = patch.maxConcurrency;
    if (patch.signingKey !== undefined) set.signing_key = patch.signingKey;
    if (patch.disabled !== undefined) {
      set.disabled_at = patch.disabled ? (current.disabledAt ?? now) : null;
      // Enabled again: its failures so far no longer count toward the automatic disable.
      if (!patch.disabled) set.failing_since = null;
    }
    const row = await this.updateQuery(appId, id, set).executeTakeFirst();
    return row && toEndpoint(row);
  }

  /**
   * Makes `secret` the signing secret; the current one keeps signing until `now + graceMs`. Expired
   * previous secrets are dropped, and the oldest beyond MAX_PREVIOUS_SECRETS.
   */
  async rotateSecret(appId: string, id: string, secret: string, graceMs: number, now: number) {
    const current = await this.get(appId, id);
    if (current === undefined) return undefined;
    const previous = [
      { secret: current.secret, expiresAt: now + graceMs },
      ...current.previousSecrets.filter((p) => p.expiresAt > now),
    ].slice(0, MAX_PREVIOUS_SECRETS);
    const row = await this.updateQuery(appId, id, {
      secret,
      previous_secrets: JSON.stringify(previous.map((p) => ({ secret: p.secret, expires_at: p.expiresAt }))),
      updated_at: now,
    }).executeTakeFirst();
    return row && toEndpoint(row);
  }

  /**
   * A failed attempt: starts the endpoint's run of failures at `now` unless one is running. True when
   * this call started it (the write happens once per run, not per failure).
   */
  async markFailing(id: string, now: number): Promise<boolean> {
    const result = await this.markFailingQuery(id, now).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** A successful attempt: ends the run of failures. True when one was running. */
  async markHealthy(id: string): Promise<boolean> {
    const result = await this.markHealthyQuery(id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async softDelete(appId: string, id: string, now: number): Promise<WebhookEndpoint | undefined> {
    const row = await this.softDeleteQuery(appId, id, now).executeTakeFirst();
    return row && toEndpoint(row);
  }

  /** As WebhookAppRepository.restore. */
  async restore(appId: string, id: string, notBefore: number, now: number) {
    const row = await this.getQuery(appId, id).executeTakeFirst();
    if (row === undefined || row.deleted_at === null || row.deleted_at < notBefore) return undefined;
    if (row.uid !== null) {
      const holder = await this.byUidQuery(appId, row.uid).executeTakeFirst();
      if (holder !== undefined) return 'conflict' as const;
    }
    const restored = await this.restoreQuery(appId, id, now).executeTakeFirst();
    return restored && toEndpoint(restored);
  }

  async purge(before: number, limit = 500): Promise<number> {
    checkLimit(limit);
    const result = await this.purgeQuery(before, limit).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Index: webhook_endpoints_app_uid_key is the conflict target. */
  insertQuery(row: WebhookEndpointsTable) {
    return this.#db
      .insertInto('webhook_endpoints')
      .values(row)
      .onConflict((oc) => oc.columns(['app_id', 'uid']).where('deleted_at', 'is', null).doNothing())
      .returningAll();
  }

  /** Index: primary key. */
  getQuery(appId: string, id: string) {
    return this.#db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', id)
      .where('app_id', '=', appId);
  }

  /** Whether any endpoint is live (not soft-deleted): a node with none has no outbound work to claim. */
  async anyLive(): Promise<boolean> {
    return (await this.anyLiveQuery().executeTakeFirst()) !== undefined;
  }

  /** Index: webhook_endpoints_app_uid_key, partial on `deleted_at IS NULL`: its rows are the live endpoints. */
  anyLiveQuery() {
    return this.#db.selectFrom('webhook_endpoints').select('id').where('deleted_at', 'is', null).limit(1);
  }

  /** Index: primary key. */
  byIdQuery(id: string) {
    return this.#db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id);
  }

  /** Index: webhook_endpoints_app_uid_key. */
  byUidQuery(appId: string, uid: string) {
    return this.#db
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('app_id', '=', appId)
      .where('uid', '=', uid)
      .where('deleted_at', 'is', null);
  }

  /** Index: webhook_endpoints_app_id_id_idx, read backwards. */
  listQuery(appId: string, options: ListWebhookEndpointsOptions) {
    checkLimit(options.limit);
    let q = this.#db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('app_id', '=', appId)
      .where('deleted_at', 'is', null);
    if (options.after !== undefined) q = q.where('id', '<', options.after);
    return q.orderBy('id', 'desc').limit(options.limit + 1);
  }

  /** Index: primary key. */
  updateQuery(appId: string, id: string, set: Partial<WebhookEndpointsTable>) {
    return this.#db
      .updateTable('webhook_endpoints')
      .set(set)
      .where('id', '=', id)
      .where('app_id', '=', appId)
      .where('deleted_at', 'is', null)
      .returningAll();
  }

  /** Index: primary key. */
  markFailingQuery(id: string, now: number) {
    return this.#db
      .updateTable('webhook_endpoints')
      .set({ failing_since: now })
      .where('id', '=', id)
      .where('failing_since', 'is', null);
  }

  /** Index: primary key. */
  markHealthyQuery(id: string) {
    return this.#db
      .updateTable('webhook_endpoints')
      .set({ failing_since: null })
      .where('id', '=', id)
      .where('failing_since', 'is not', null);
  }

  /** Index: primary key. */
  softDeleteQuery(appId: string, id: string, now: number) {
    return this.#db
      .updateTable('webhook_endpoints')
      .set({ deleted_at: now, updated_at: now })
      .where('id', '=', id)
      .where('app_id', '=', appId)
      .where('deleted_at', 'is', null)
      .returningAll();
  }

  /** Index: primary key. */
  restoreQuery(appId: string, id: string, now: number) {
    return this.#db
      .updateTable('webhook_endpoints')
      .set({ deleted_at: null, updated_at: now })
      .where('id', '=', id)
      .where('app_id', '=', appId)
      .where('deleted_at', 'is not', null)
      .returningAll();
  }

  /** Index: webhook_endpoints_deleted_at_idx (partial: only deleted rows). */
  purgeQuery(before: number, limit: number) {
    return this.#db
      .deleteFrom('webhook_endpoints')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('webhook_endpoints')
          .select('id')
          .where('deleted_at', '<', before)
          .orderBy('deleted_at')
          .limit(limit),
      );
  }
}

function jsonOrNull(list: readonly (string | number)[] | null | undefined): string | null {
  return list === undefined || list === null ? null : JSON.stringify(list);
}

export function toEndpoint(row: WebhookEndpointsTable): WebhookEndpoint {
  const previous = JSON.parse(row.previous_secrets) as { secret: string; expires_at: number }[];
  return {
    id: row.id,
    appId: row.app_id,
    uid: row.uid,
    url: row.url,
    description: row.description,
    filterTypes: row.filter_types === null ? null : (JSON.parse(row.filter_types) as string[]),
    channels: row.channels === null ? null : (JSON.parse(row.channels) as string[]),
    headers: JSON.parse(row.headers) as Record<string, string>,
    secret: row.secret,
    previousSecrets: previous.map((p) => ({ secret: p.secret, expiresAt: p.expires_at })),
    disabledAt: row.disabled_at,
    rateLimit: row.rate_limit,
    retryScheduleMs: row.retry_schedule === null ? null : (JSON.parse(row.retry_schedule) as number[]),
    maxConcurrency: row.max_concurrency,
    failingSince: row.failing_since,
    signingKey: row.signing_key,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}
