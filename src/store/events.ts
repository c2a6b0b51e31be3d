/**
 * The event log (issue #6; Q24, Q40): every event a source accepted, raw body and selected headers,
 * written once and never updated. `append` writes the event and one delivery per subscription in one
 * transaction, so an acknowledged event always has its work queued (src/store/deliveries.ts).
 *
 * Deduplication rests on the unique index on (source, external_id): the insert is `on conflict do
 * nothing`, and an insert that wrote nothing is a duplicate. There is no look-then-insert window: on
 * PostgreSQL a racing insert of the same key waits for the first transaction and then conflicts
 * (https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT); on SQLite appends
 * are serialized by the write lock. Events without an external id are never deduplicated (NULLs do
 * not conflict). `exists` is the slow path of a source's in-memory Bloom filter.
 *
 * Ids are `evt_` Snowflakes issued by the caller's generator, and `received_at` is the time inside
 * the id, so time ranges are id ranges (src/store/id-range.ts). Lists are newest first; the export
 * iterator reads oldest first in keyset batches, holding no transaction or cursor open between them.
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { parseId } from '../core/ids.ts';
import { checkLimit, checkName } from './checks.ts';
import type { Page } from './config-revisions.ts';
import { type Delivery, toDelivery } from './deliveries.ts';
import { StoreRecordInvalid } from './errors.ts';
import { idFloor, type TimeRange } from './id-range.ts';
import type { Database, DeliveriesTable, EventsTable } from './schema.ts';

export interface NewEvent {
  /** The source's config name. */
  source: string;
  type: string;
  /** The provider's event or delivery id; events with the same one from the same source are one. */
  externalId?: string | null;
  /** The raw body as received; a string is stored as UTF-8. */
  payload: Uint8Array | string;
  /** Header fields kept with the event (a selection: never credentials). */
  headers?: Readonly<Record<string, string>>;
}

export interface StoredEvent {
  /** `evt_<snowflake>`. */
  id: string;
  source: string;
  type: string;
  externalId: string | null;
  /** Epoch milliseconds: the time inside `id`. */
  receivedAt: number;
  payload: Buffer;
  headers: Record<string, string>;
}

export type AppendResult =
  | { duplicate: false; event: StoredEvent; deliveries: Delivery[] }
  /** The source already holds an event with this external id; nothing was written. */
  | { duplicate: true; existingId: string };

/** What issues ids: `Snowflake` (src/core/ids.ts). */
export interface IdIssuer {
  next(prefix: string): string;
}

/** What the event log deduplicates on. */
export interface DedupeKey {
  source: string;
  externalId: string;
}

export interface EventFilter extends TimeRange {
  source?: string;
  type?: string;
}

export interface ListEventsOptions extends EventFilter {
  /** 1..1000. */
  limit: number;
  /** The `next` of the previous page: the last id it held. */
  after?: string;
}

const MAX_EXTERNAL_ID = 512;
/** Rows per INSERT: 12 columns × 500 stays under both dialects' bound-parameter limits. */
const INSERT_CHUNK = 500;
/** A duplicate whose row vanished before we read it (retention) is appended again; this bounds that. */
const APPEND_ROUNDS = 4;

type Db = Kysely<Database>;

export class EventRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Stores the event and queues one delivery per subscription, atomically, unless the source already
   * has an event with `externalId`.
   * @example
   * const r = await store.events.append(
   *   { source: 'stripe', type: 'payment_intent.succeeded', externalId: 'evt_1', payload: rawBody },
   *   ['orders', 'ledger'],
   *   services.ids,
   * );
   * if (r.duplicate) log.info({ existing: r.existingId }, 'already received');
   */
  async append(input: NewEvent, subscriptions: readonly string[], ids: IdIssuer): Promise<AppendResult> {
    const event = checkEvent(input);
    const subs = [...new Set(subscriptions)];
    for (const s of subs) checkName('subscription', s);
    for (let round = 0; round < APPEND_ROUNDS; round++) {
      const result = await this.#db.transaction().execute(async (trx): Promise<AppendResult | undefined> => {
        const id = ids.next('evt');
        const row: EventsTable = { ...event, id, received_at: receivedAt(id) };
        if ((await this.insertQuery(row, trx).executeTakeFirst()) === undefined) {
          // Only an external id conflicts; someone else's insert of it has committed.
          const existing = await this.findQuery(row.source, row.external_id!, trx).executeTakeFirst();
          return existing && { duplicate: true, existingId: existing.id };
        }
        const deliveries = subs.map((subscription) => deliveryRow(ids.next('dlv'), row, subscription));
        for (let i = 0; i < deliveries.length; i += INSERT_CHUNK) {
          await this.insertDeliveriesQuery(deliveries.slice(i, i + INSERT_CHUNK), trx).execute();
        }
        return { duplicate: false, event: toEvent(row), deliveries: deliveries.map(toDelivery) };
      });
      if (result !== undefined) return result;
    }
    throw new Error(`event ${event.source}/${event.external_id} kept conflicting with rows that vanished`);
  }

  /** Whether the source holds an event with this external id. */
  async exists(source: string, externalId: string): Promise<boolean> {
    return (await this.findQuery(source, externalId).executeTakeFirst()) !== undefined;
  }

  /** The id of the source's event with this external id (a Bloom filter's "maybe seen" answer). */
  async idOf(source: string, externalId: string): Promise<string | undefined> {
    return (await this.findQuery(source, externalId).executeTakeFirst())?.id;
  }

  /**
   * Every stored (source, externalId) pair, `batchSize` at a time in index order, each batch one
   * short query: what an in-memory Bloom filter is rebuilt from on start without holding all keys.
   * @example
   * for await (const batch of store.events.dedupeKeys()) for (const k of batch) bloom.add(key(k));
   */
  async *dedupeKeys(batchSize = 1000): AsyncGenerator<DedupeKey[]> {
    checkLimit(batchSize);
    let after: DedupeKey | undefined;
    for (;;) {
      const rows = await this.dedupeKeysQuery(batchSize, after).execute();
      const batch = rows.map((r) => ({ source: r.source, externalId: r.external_id! }));
      if (batch.length > 0) yield batch;
      if (rows.length < batchSize) return;
      after = batch.at(-1);
    }
  }

  async get(id: string): Promise<StoredEvent | undefined> {
    const row = await this.getQuery(id).executeTakeFirst();
    return row && toEvent(row);
  }

  /** The events among `ids` that exist, by id (a worker's claimed batch). */
  async getMany(ids: readonly string[]): Promise<StoredEvent[]> {
    if (ids.length === 0) return [];
    return (await this.getManyQuery(ids).execute()).map(toEvent);
  }

  /** One page, newest first. */
  async list(options: ListEventsOptions): Promise<Page<StoredEvent>> {
    const rows = await this.listQuery(options).execute();
    const items = rows.slice(0, options.limit).map(toEvent);
    const last = items.at(-1);
    return rows.length > options.limit && last !== undefined ? { items, next: last.id } : { items };
  }

  /**
   * Every event the filter matches, oldest first, read `batchSize` at a time (for NDJSON export).
   * Events appended during the export appear if they sort after the batch being read.
   * @example
   * for await (const e of store.events.exportRange({ from, to })) out.write(`${JSON.stringify(e)}\n`);
   */
  async *exportRange(filter: EventFilter, batchSize = 500): AsyncGenerator<StoredEvent> {
    checkLimit(batchSize);
    let after: string | undefined;
    for (;;) {
      const rows = await this.exportQuery(filter, batchSize, after).execute();
      for (const row of rows) yield toEvent(row);
      if (rows.length < batchSize) return;
      after = rows.at(-1)!.id;
    }
  }

  /** Index: events_source_external_id_key is the conflict target. */
  insertQuery(row: EventsTable, db: Db = this.#db) {
    return db
      .insertInto('events')
      .values(row)
      .onConflict((oc) => oc.columns(['source', 'external_id']).doNothing())
      .returning('id');
  }

  insertDeliveriesQuery(rows: readonly DeliveriesTable[], db: Db = this.#db) {
    return db.insertInto('deliveries').values(rows);
  }

  /** Index: events_source_external_id_key. */
  findQuery(source: string, externalId: string, db: Db = this.#db) {
    return db
      .selectFrom('events')
      .select('id')
      .where('source', '=', source)
      .where('external_id', '=', externalId);
  }

  /** Index: events_source_external_id_key, read in order and covering both columns. */
  dedupeKeysQuery(limit: number, after?: DedupeKey) {
    let q = this.#db
      .selectFrom('events')
      .select(['source', 'external_id'])
      .where('external_id', 'is not', null);
    if (after !== undefined) {
      q = q.where((eb) =>
        eb(eb.refTuple('source', 'external_id'), '>', eb.tuple(after.source, after.externalId)),
      );
    }
    return q.orderBy('source').orderBy('external_id').limit(limit);
  }

  /** Index: primary key. */
  getQuery(id: string) {
    return this.#db.selectFrom('events').selectAll().where('id', '=', id);
  }

  /** Index: primary key. */
  getManyQuery(ids: readonly string[]) {
    return this.#db.selectFrom('events').selectAll().where('id', 'in', ids).orderBy('id');
  }

  /**
   * Index: events_source_id_idx with a source, else events_type_id_idx with a type, else the primary
   * key; read backwards from the upper id bound, so no sort and the scan stops after `limit + 1` rows.
   */
  listQuery(options: ListEventsOptions) {
    checkLimit(options.limit);
    let q = this.#filtered(options);
    if (options.after !== undefined) q = q.where('id', '<', options.after);
    return q.orderBy('id', 'desc').limit(options.limit + 1);
  }

  /** As listQuery, forwards. */
  exportQuery(filter: EventFilter, limit: number, after?: string) {
    let q = this.#filtered(filter);
    if (after !== undefined) q = q.where('id', '>', after);
    return q.orderBy('id').limit(limit);
  }

  #filtered(filter: EventFilter) {
    let q = this.#db.selectFrom('events').selectAll();
    if (filter.source !== undefined) q = q.where('source', '=', filter.source);
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    if (filter.from !== undefined) q = q.where('id', '>=', idFloor('evt', filter.from));
    if (filter.to !== undefined) q = q.where('id', '<', idFloor('evt', filter.to));
    return q;
  }
}

function receivedAt(id: string): number {
  let parts: ReturnType<typeof parseId>;
  try {
    parts = parseId(id);
  } catch (cause) {
    throw new JunctionError(StoreRecordInvalid, 'the id issuer must issue Snowflake ids', { cause });
  }
  if (parts.prefix !== 'evt') throw new JunctionError(StoreRecordInvalid, 'event ids must be evt_ ids');
  return parts.timestampMs;
}

function deliveryRow(id: string, event: EventsTable, subscription: string): DeliveriesTable {
  if (!id.startsWith('dlv_')) throw new JunctionError(StoreRecordInvalid, 'delivery ids must be dlv_ ids');
  return {
    id,
    event_id: event.id,
    subscription,
    status: 'pending',
    attempts: 0,
    next_attempt_at: event.received_at,
    lease_owner: null,
    lease_expires_at: null,
    last_error: null,
    last_status: null,
    created_at: event.received_at,
    updated_at: event.received_at,
  };
}

function checkEvent(input: NewEvent): Omit<EventsTable, 'id' | 'received_at'> {
  checkName('source', input.source);
  checkName('type', input.type);
  const externalId = input.externalId ?? null;
  if (
    externalId !== null &&
    (typeof externalId !== 'string' ||
      externalId.length === 0 ||
      externalId.length > MAX_EXTERNAL_ID ||
      externalId.includes('\0'))
  ) {
    throw new JunctionError(
      StoreRecordInvalid,
      `externalId must be 1..${MAX_EXTERNAL_ID} characters without NUL`,
    );
  }
  const { payload } = input;
  if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
    throw new JunctionError(StoreRecordInvalid, 'payload must be bytes or a string');
  }
  const headers = input.headers ?? {};
  if (
    typeof headers !== 'object' ||
    headers === null ||
    Object.values(headers).some((v) => typeof v !== 'string')
  ) {
    throw new JunctionError(StoreRecordInvalid, 'headers must map names to strings');
  }
  return {
    source: input.source,
    type: input.type,
    external_id: externalId,
    // pg sends Buffers as bytea; node:sqlite binds any Uint8Array as a BLOB.
    payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : asBuffer(payload),
    headers: JSON.stringify(headers),
  };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toEvent(row: EventsTable): StoredEvent {
  return {
    id: row.id,
    source: row.source,
    type: row.type,
    externalId: row.external_id,
    receivedAt: row.received_at,
    payload: asBuffer(row.payload),
    headers: JSON.parse(row.headers) as Record<string, string>,
  };
}
