/**
 * Outbound webhook applications (issue #7): one per customer of the platform, owned by a tenant ('' for
 * none). Soft delete (Q48): `softDelete` sets `deleted_at`, which hides the application from `get` and
 * `list` and from the fan-out of new messages; `restore` clears it while the row is within retention,
 * unless a live application took its uid meanwhile; `purge` removes rows deleted before a cutoff, with
 * their endpoints, messages and attempts (foreign keys cascade).
 *
 * The uid is unique per tenant among live rows (partial unique index, migration 0008): `create` is an
 * insert `on conflict do nothing` on that index, so two racing creates of one uid store one row.
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { checkLimit } from './checks.ts';
import type { Page } from './config-revisions.ts';
import type { Database, WebhookAppsTable } from './schema.ts';

export interface WebhookApp {
  /** `app_<snowflake>`. */
  id: string;
  /** '' for an application of no tenant. */
  tenant: string;
  uid: string | null;
  name: string;
  rateLimit: number | null;
  /** Retry delays in ms for its endpoints (an endpoint's own wins); null: the settings'. */
  retryScheduleMs: number[] | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

export interface NewWebhookApp {
  id: string;
  tenant: string;
  uid?: string | null;
  name: string;
  rateLimit?: number | null;
  retryScheduleMs?: number[] | null;
  now: number;
}

export interface WebhookAppPatch {
  name?: string;
  uid?: string | null;
  rateLimit?: number | null;
  retryScheduleMs?: number[] | null;
}

export interface ListWebhookAppsOptions {
  /** Only this tenant's ('' included); all tenants when absent. */
  tenant?: string;
  limit: number;
  after?: string;
}

type Db = Kysely<Database>;

export class WebhookAppRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The new application, or undefined when a live one of the tenant already has the uid. */
  async create(input: NewWebhookApp): Promise<WebhookApp | undefined> {
    const row: WebhookAppsTable = {
      id: input.id,
      tenant: input.tenant,
      uid: input.uid ?? null,
      name: input.name,
      rate_limit: input.rateLimit ?? null,
      retry_schedule: scheduleJson(input.retryScheduleMs),
      created_at: input.now,
      updated_at: input.now,
      deleted_at: null,
    };
    const inserted = await this.insertQuery(row).executeTakeFirst();
    return inserted && toApp(inserted);
  }

  /** A live application by id (or, with `deleted`, a soft-deleted one too). */
  async get(id: string, options: { deleted?: boolean } = {}): Promise<WebhookApp | undefined> {
    const row = await this.getQuery(id).executeTakeFirst();
    if (row === undefined || (row.deleted_at !== null && options.deleted !== true)) return undefined;
    return toApp(row);
  }

  /** A live application of the tenant by its uid. */
  async getByUid(tenant: string, uid: string): Promise<WebhookApp | undefined> {
    const row = await this.byUidQuery(tenant, uid).executeTakeFirst();
    return row && toApp(row);
  }

  /** Live applications, newest first. */
  async list(options: ListWebhookAppsOptions): Promise<Page<WebhookApp>> {
    const rows = await this.listQuery(options).execute();
    const items = rows.slice(0, options.limit).map(toApp);
    const last = items.at(-1);
    return rows.length > options.limit && last ? { items, next: last.id } : { items };
  }

  /** The updated live application; undefined if gone, `'conflict'` if the new uid is taken. */
  async update(
    id: string,
    patch: WebhookAppPatch,
    now: number,
  ): Promise<WebhookApp | 'conflict' | undefined> {
    const current = await this.get(id);
    if (current === undefined) return undefined;
    const uid = patch.uid === undefined ? current.uid : patch.uid;
    if (uid !== null && uid !== current.uid) {
      const holder = await this.getByUid(current.tenant, uid);
      if (holder !== undefined && holder.id !== id) return 'conflict';
    }
    const row = await this.updateQuery(id, {
      name: patch.name ?? current.name,
      uid,
      rate_limit: patch.rateLimit === undefined ? current.rateLimit : patch.rateLimit,
      retry_schedule: scheduleJson(
        patch.retryScheduleMs === undefined ? current.retryScheduleMs : patch.retryScheduleMs,
      ),
      updated_at: now,
    }).executeTakeFirst();
    return row && toApp(row);
  }

  /** Sets `deleted_at`; the deleted application, or undefined if it was not live. */
  async softDelete(id: string, now: number): Promise<WebhookApp | undefined> {
    const row = await this.softDeleteQuery(id, now).executeTakeFirst();
    return row && toApp(row);
  }

  /**
   * Makes a deleted application live again if it was deleted at or after `notBefore` (retention) and
   * no live application of its tenant holds its uid. The restored row, `'conflict'`, or undefined.
   */
  async restore(id: string, notBefore: number, now: number): Promise<WebhookApp | 'conflict' | undefined> {
    const row = await this.getQuery(id).executeTakeFirst();
    if (row === undefined || row.deleted_at === null || row.deleted_at < notBefore) return undefined;
    if (row.uid !== null && (await this.getByUid(row.tenant, row.uid)) !== undefined) return 'conflict';
    const restored = await this.restoreQuery(id, now).executeTakeFirst();
    return restored && toApp(restored);
  }

  /** Deletes up to `limit` applications soft-deleted before `before`, with all they own. */
  async purge(before: number, limit = 500): Promise<number> {
    checkLimit(limit);
    const result = await this.purgeQuery(before, limit).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Index: webhook_apps_tenant_uid_key is the conflict target. */
  insertQuery(row: WebhookAppsTable) {
    return this.#db
      .insertInto('webhook_apps')
      .values(row)
      .onConflict((oc) => oc.columns(['tenant', 'uid']).where('deleted_at', 'is', null).doNothing())
      .returningAll();
  }

  /** Index: primary key. */
  getQuery(id: string) {
    return this.#db.selectFrom('webhook_apps').selectAll().where('id', '=', id);
  }

  /** Index: webhook_apps_tenant_uid_key (or, on a small table, webhook_apps_tenant_id_idx). */
  byUidQuery(tenant: string, uid: string) {
    return this.#db
      .selectFrom('webhook_apps')
      .selectAll()
      .where('tenant', '=', tenant)
      .where('uid', '=', uid)
      .where('deleted_at', 'is', null);
  }

  /** Index: webhook_apps_tenant_id_idx with a tenant, else webhook_apps_live_id_idx; read backwards. */
  listQuery(options: ListWebhookAppsOptions) {
    checkLimit(options.limit);
    let q = this.#db.selectFrom('webhook_apps').selectAll().where('deleted_at', 'is', null);
    if (options.tenant !== undefined) q = q.where('tenant', '=', options.tenant);
    if (options.after !== undefined) q = q.where('id', '<', options.after);
    return q.orderBy('id', 'desc').limit(options.limit + 1);
  }

  /** Index: primary key. */
  updateQuery(
    id: string,
    set: Pick<WebhookAppsTable, 'name' | 'uid' | 'rate_limit' | 'retry_schedule' | 'updated_at'>,
  ) {
    return this.#db
      .updateTable('webhook_apps')
      .set(set)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returningAll();
  }

  /** Index: primary key. */
  softDeleteQuery(id: string, now: number) {
    return this.#db
      .updateTable('webhook_apps')
      .set({ deleted_at: now, updated_at: now })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returningAll();
  }

  /** Index: primary key. */
  restoreQuery(id: string, now: number) {
    return this.#db
      .updateTable('webhook_apps')
      .set({ deleted_at: null, updated_at: now })
      .where('id', '=', id)
      .where('deleted_at', 'is not', null)
      .returningAll();
  }

  /** Index: webhook_apps_deleted_at_idx (partial: only deleted rows). */
  purgeQuery(before: number, limit: number) {
    return this.#db
      .deleteFrom('webhook_apps')
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('webhook_apps')
          .select('id')
          .where('deleted_at', '<', before)
          .orderBy('deleted_at')
          .limit(limit),
      );
  }
}

function scheduleJson(delays: readonly number[] | null | undefined): string | null {
  return delays === undefined || delays === null ? null : JSON.stringify(delays);
}

function toApp(row: WebhookAppsTable): WebhookApp {
  return {
    id: row.id,
    tenant: row.tenant,
    uid: row.uid,
    name: row.name,
    rateLimit: row.rate_limit,
    retryScheduleMs: row.retry_schedule === null ? null : (JSON.parse(row.retry_schedule) as number[]),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}
