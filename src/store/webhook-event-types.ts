/**
 * Event types of outbound webhooks (issue #7, Q45): a name, a description and numbered JSON Schema
 * versions. `addSchema` appends version n+1 only if the type is still at n (a compare-and-set on
 * `version`), so two admins registering at once cannot both become version n+1: the loser gets
 * `'stale'` and checks compatibility again against the winner. The list is paged by offset: a small
 * admin table shown as numbered pages with a total (docs/webhooks-outbound.md "Pagination").
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import type { Kysely } from 'kysely';
import type { Database, WebhookEventTypeSchemasTable, WebhookEventTypesTable } from './schema.ts';

export interface WebhookEventType {
  name: string;
  description: string;
  /** The latest schema version; 0: none yet. */
  version: number;
  createdAt: number;
  updatedAt: number;
  /** Archived at. */
  deletedAt: number | null;
}

export interface WebhookEventTypeSchema {
  eventType: string;
  version: number;
  schema: unknown;
  compatibility: string;
  createdAt: number;
}

export interface OffsetPage<T> {
  items: T[];
  total: number;
}

type Db = Kysely<Database>;

export class WebhookEventTypeRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Creates the type, or brings an archived one back with the new description. Undefined if a live
   * type of that name exists.
   */
  async create(name: string, description: string, now: number): Promise<WebhookEventType | undefined> {
    const row = await this.upsertQuery(name, description, now).executeTakeFirst();
    return row && toType(row);
  }

  /** A live type (or, with `archived`, an archived one too). */
  async get(name: string, options: { archived?: boolean } = {}): Promise<WebhookEventType | undefined> {
    const row = await this.getQuery(name).executeTakeFirst();
    if (row === undefined || (row.deleted_at !== null && options.archived !== true)) return undefined;
    return toType(row);
  }

  /** Live types by name, `perPage` of them from page `page` (1-based), and how many there are. */
  async list(page: number, perPage: number): Promise<OffsetPage<WebhookEventType>> {
    const [rows, count] = await Promise.all([
      this.listQuery((page - 1) * perPage, perPage).execute(),
      this.countQuery().executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toType), total: Number(count.total) };
  }

  async update(name: string, description: string, now: number): Promise<WebhookEventType | undefined> {
    const row = await this.updateQuery(name, { description, updated_at: now }).executeTakeFirst();
    return row && toType(row);
  }

  async archive(name: string, now: number): Promise<WebhookEventType | undefined> {
    const row = await this.updateQuery(name, { deleted_at: now, updated_at: now }).executeTakeFirst();
    return row && toType(row);
  }

  /** The schema of `version`, or the latest when absent; undefined if there is none. */
  async schema(name: string, version?: number): Promise<WebhookEventTypeSchema | undefined> {
    let v = version;
    if (v === undefined) {
      const type = await this.get(name, { archived: true });
      if (type === undefined || type.version === 0) return undefined;
      v = type.version;
    }
    const row = await this.schemaQuery(name, v).executeTakeFirst();
    return row && toSchema(row);
  }

  /** Every version, oldest first. */
  async schemas(name: string): Promise<WebhookEventTypeSchema[]> {
    return (await this.schemasQuery(name).execute()).map(toSchema);
  }

  /**
   * Records `schema` as version `expected + 1`, if the type is live and still at `expected`.
   * `'stale'` when another version came first, undefined when the type is not live.
   */
  async addSchema(
    name: string,
    expected: number,
    schema: unknown,
    compatibility: string,
    now: number,
  ): Promise<WebhookEventTypeSchema | 'stale' | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      const moved = await this.bumpQuery(name, expected, now, trx).executeTakeFirst();
      if (moved === undefined) {
        const type = await this.getQuery(name, trx).executeTakeFirst();
        return type === undefined || type.deleted_at !== null ? undefined : 'stale';
      }
      const row: WebhookEventTypeSchemasTable = {
        event_type: name,
        version: expected + 1,
        schema: JSON.stringify(schema),
        compatibility,
        created_at: now,
      };
      await trx.insertInto('webhook_event_type_schemas').values(row).execute();
      return toSchema(row);
    });
  }

  /** Index: primary key (conflict target; an archived row is taken over). */
  upsertQuery(name: string, description: string, now: number) {
    return this.#db
      .insertInto('webhook_event_types')
      .values({ name, description, version: 0, created_at: now, updated_at: now, deleted_at: null })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ description, updated_at: now, deleted_at: null })
          .where('webhook_event_types.deleted_at', 'is not', null),
      )
      .returningAll();
  }

  /** Index: primary key. */
  getQuery(name: string, db: Db = this.#db) {
    return db.selectFrom('webhook_event_types').selectAll().where('name', '=', name);
  }

  /** Index: primary key, in order; OFFSET walks it (fine for a table of tens or hundreds of rows). */
  listQuery(offset: number, limit: number) {
    return this.#db
      .selectFrom('webhook_event_types')
      .selectAll()
      .where('deleted_at', 'is', null)
      .orderBy('name')
      .limit(limit)
      .offset(offset);
  }

  countQuery() {
    return this.#db
      .selectFrom('webhook_event_types')
      .select((eb) => eb.fn.countAll<number | string>().as('total'))
      .where('deleted_at', 'is', null);
  }

  /** Index: primary key. */
  updateQuery(name: string, set: Partial<WebhookEventTypesTable>) {
    return this.#db
      .updateTable('webhook_event_types')
      .set(set)
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .returningAll();
  }

  /** Index: primary key. The compare-and-set on `version`. */
  bumpQuery(name: string, expected: number, now: number, db: Db = this.#db) {
    return db
      .updateTable('webhook_event_types')
      .set({ version: expected + 1, updated_at: now })
      .where('name', '=', name)
      .where('version', '=', expected)
      .where('deleted_at', 'is', null)
      .returning('version');
  }

  /** Index: webhook_event_type_schemas_pk. */
  schemaQuery(name: string, version: number) {
    return this.#db
      .selectFrom('webhook_event_type_schemas')
      .selectAll()
      .where('event_type', '=', name)
      .where('version', '=', version);
  }

  /** Index: webhook_event_type_schemas_pk, in order. */
  schemasQuery(name: string) {
    return this.#db
      .selectFrom('webhook_event_type_schemas')
      .selectAll()
      .where('event_type', '=', name)
      .orderBy('version');
  }
}

function toType(row: WebhookEventTypesTable): WebhookEventType {
  return {
    name: row.name,
    description: row.description,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

function toSchema(row: WebhookEventTypeSchemasTable): WebhookEventTypeSchema {
  return {
    eventType: row.event_type,
    version: row.version,
    schema: JSON.parse(row.schema) as unknown,
    compatibility: row.compatibility,
    createdAt: row.created_at,
  };
}
