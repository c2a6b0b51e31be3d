/**
 * The delivery queue (issue #6; Q24, Q40): one row per event and subscription, written with the event
 * (EventRepository.append) and worked off by claiming leases.
 *
 * A row is `pending` (due at `next_attempt_at`) → `leased` by one worker until `lease_expires_at` →
 * `done`, back to `pending` with a later `next_attempt_at` (retry), or `dead` (dead-lettered, until
 * replayed or discarded). While leased, `next_attempt_at` equals the lease expiry, so "pending and due,
 * or leased with an expired lease" is the single condition `next_attempt_at <= now`: a worker that
 * died gives its deliveries back by doing nothing. Delivery is at least once: a worker that sent a
 * webhook and died before `complete` leaves it to be sent again; receivers dedupe by event id.
 *
 * The claim is one statement, `update … where id in (select id … order by next_attempt_at, id limit n)
 * returning *`, served by the partial index `deliveries_due_idx`:
 * - PostgreSQL: the subquery locks its rows `for update skip locked`, so concurrent claimers take
 *   disjoint batches without waiting on each other; a row another claimer changed meanwhile is
 *   re-checked against the condition before it is locked
 *   (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
 * - SQLite: inside a `BEGIN IMMEDIATE` transaction (src/store/sqlite-dialect.ts), which holds the
 *   file's write lock from the start: claimers on other connections wait for it, then see the rows
 *   already leased.
 *
 * `complete`, `retry` and `deadLetter` write only while the row is still leased by the caller: a lease
 * that expired and was claimed by another worker is that worker's now, and the late one gets false.
 * A lease that expired but that nobody claimed yet is still the caller's (as for node leases). Owners
 * must be unique per worker (e.g. `<nodeId>:<random>`).
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import { type ExpressionBuilder, type Kysely, type RawBuilder, sql } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { checkEpochMs, checkLimit, checkName, checkPositiveMs } from './checks.ts';
import type { Page } from './config-revisions.ts';
import { StoreRecordInvalid } from './errors.ts';
import { idFloor, type TimeRange } from './id-range.ts';
import type { Database, DeliveriesTable, DeliveryStatus } from './schema.ts';

export interface Delivery {
  /** `dlv_<snowflake>`, issued with its event. */
  id: string;
  eventId: string;
  subscription: string;
  status: DeliveryStatus;
  /** Claims so far, the one in progress included: 1 during the first attempt. */
  attempts: number;
  /** Pending: when due. Leased: when the lease expires. Null once done or dead. */
  nextAttemptAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** The last failed attempt's error and HTTP status (null status: no response). */
  lastError: string | null;
  lastStatus: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Which deliveries of a status: by subscription, and by when their event arrived. */
export interface DeliveryFilter extends TimeRange {
  subscription?: string;
}

export interface ListDeliveriesOptions extends DeliveryFilter {
  /** 1..1000. */
  limit: number;
  /** The `next` of the previous page: the last id it held. */
  after?: string;
}

/** The longest per-row spacing `postponeDue` spreads a backlog with (an endpoint at 1 a minute). */
export const MAX_SPACING_MS = 60_000;
/**
 * The longest time `postponeDue` spreads a backlog over: 10,000 rows behind a slow rate are not
 * parked for days; those that come due before their slot are booked or pushed again then.
 */
export const MAX_SPREAD_MS = 60_000;

/** Stored errors are cut here: a whole HTML error page is not worth keeping per attempt. */
export const MAX_ERROR_LENGTH = 2000;

type Db = Kysely<Database>;

export class DeliveryRepository {
  readonly #db: Db;
  readonly #dialect: 'sqlite' | 'postgres';

  constructor(db: Db, dialect: 'sqlite' | 'postgres') {
    this.#db = db;
    this.#dialect = dialect;
  }

  /**
   * Leases up to `limit` due deliveries to `owner` for `leaseMs`, oldest due first; each claim counts
   * as an attempt. Returns them by id.
   * @example
   * for (const d of await store.deliveries.claim(workerId, 50, 30_000)) {
   *   const ok = await send(d);
   *   if (ok) await store.deliveries.complete(d.id, workerId);
   *   else await store.deliveries.retry(d.id, workerId, Date.now() + backoff(d.attempts), 'HTTP 503', 503);
   * }
   */
  async claim(owner: string, limit: number, leaseMs: number, now: number = Date.now()): Promise<Delivery[]> {
    checkName('owner', owner);
    checkLimit(limit);
    checkPositiveMs('leaseMs', leaseMs);
    checkEpochMs('now', now);
    const rows =
      this.#dialect === 'sqlite'
        ? await this.#db
            .transaction()
            .execute((trx) => this.claimQuery(owner, limit, leaseMs, now, trx).execute())
        : await this.claimQuery(owner, limit, leaseMs, now).execute();
    return rows.map(toDelivery).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Moves the caller's lease to `now + leaseMs` (a long delivery); false if it is not the caller's. */
  async extend(id: string, owner: string, leaseMs: number, now: number = Date.now()): Promise<boolean> {
    checkPositiveMs('leaseMs', leaseMs);
    const result = await this.extendQuery(id, owner, now + leaseMs, now).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Marks the delivery done; false if the caller no longer holds its lease. */
  async complete(id: string, owner: string, now: number = Date.now()): Promise<boolean> {
    const result = await this.completeQuery(id, owner, now).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Gives the delivery back to the queue, due at `nextAttemptAt`, recording why this attempt failed.
   * `status` is the HTTP status received, null when there was no response. False if not the caller's.
   */
  async retry(
    id: string,
    owner: string,
    nextAttemptAt: number,
    error: string | null,
    status: number | null,
    now: number = Date.now(),
  ): Promise<boolean> {
    checkEpochMs('nextAttemptAt', nextAttemptAt);
    checkStatus(status);
    const result = await this.retryQuery(id, owner, nextAttemptAt, error, status, now).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Gives the delivery back without counting the attempt: pending, due at `nextAttemptAt`, its last
   * error untouched. For a claim the worker did not try (its subscription is disabled, or the worker is
   * shutting down). False if the caller no longer holds its lease.
   */
  async postpone(
    id: string,
    owner: string,
    nextAttemptAt: number,
    now: number = Date.now(),
  ): Promise<boolean> {
    checkEpochMs('nextAttemptAt', nextAttemptAt);
    const result = await this.postponeQuery(id, owner, nextAttemptAt, now).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Pushes every pending delivery of `subscription` that is due by `now` to `nextAttemptAt`, in one
   * statement (no attempt counted): an outbound endpoint whose rate schedule or circuit breaker holds
   * it for a while gives its whole backlog back at once instead of the worker claiming and postponing
   * it row by row. Rows due later (retries, booked slots) are left alone. Returns how many moved.
   *
   * With `spacingMs` (the endpoint's rate interval) the rows are spread at random over the time the
   * backlog needs, `[nextAttemptAt, nextAttemptAt + min(n × spacingMs, MAX_SPREAD_MS))` for n rows,
   * so they come due about as fast as the endpoint may take them instead of all at once again, to be
   * claimed together, one sent and the rest pushed again.
   */
  async postponeDue(
    subscription: string,
    nextAttemptAt: number,
    now: number = Date.now(),
    spacingMs?: number,
  ): Promise<number> {
    checkEpochMs('nextAttemptAt', nextAttemptAt);
    if (
      spacingMs !== undefined &&
      !(Number.isFinite(spacingMs) && spacingMs > 0 && spacingMs <= MAX_SPACING_MS)
    ) {
      throw new JunctionError(StoreRecordInvalid, `spacingMs must be in (0, ${MAX_SPACING_MS}]`);
    }
    const result = await this.postponeDueQuery(
      subscription,
      nextAttemptAt,
      now,
      spacingMs,
    ).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Makes the `limit` oldest never-attempted pending deliveries of `subscription` that are not due
   * yet due now (no attempt counted): an outbound endpoint at its concurrency limit parks what it
   * cannot take, and brings the next ones forward when a place frees instead of the queue being
   * polled for them. Rows that failed an attempt keep their retry time. Returns how many moved.
   */
  async bringForward(subscription: string, limit: number, now: number = Date.now()): Promise<number> {
    checkLimit(limit);
    checkEpochMs('now', now);
    const result = await this.bringForwardQuery(subscription, limit, now).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Moves the delivery to the dead-letter queue; false if the caller no longer holds its lease. */
  async deadLetter(
    id: string,
    owner: string,
    error: string | null,
    status: number | null,
    now: number = Date.now(),
  ): Promise<boolean> {
    checkStatus(status);
    const result = await this.deadLetterQuery(id, owner, error, status, now).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async get(id: string): Promise<Delivery | undefined> {
    const row = await this.getQuery(id).executeTakeFirst();
    return row && toDelivery(row);
  }

  /** The deliveries of one event, by subscription. */
  async forEvent(eventId: string): Promise<Delivery[]> {
    return (await this.forEventQuery(eventId).execute()).map(toDelivery);
  }

  /** One page of deliveries in `status`, newest event first. */
  async list(status: DeliveryStatus, options: ListDeliveriesOptions): Promise<Page<Delivery>> {
    const rows = await this.listQuery(status, options).execute();
    const items = rows.slice(0, options.limit).map(toDelivery);
    const last = items.at(-1);
    return rows.length > options.limit && last !== undefined ? { items, next: last.id } : { items };
  }

  /** One page of the dead-letter queue, newest event first. */
  listDead(options: ListDeliveriesOptions): Promise<Page<Delivery>> {
    return this.list('dead', options);
  }

  /** Sends a dead letter again: pending now, attempts from zero. False if it is not dead. */
  async replay(id: string, now: number = Date.now()): Promise<boolean> {
    const result = await this.replayQuery({ id }, now).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * How many deliveries are in `status`, counted up to `cap` (a metric read at scrape time must stay
   * cheap however long the queue grows).
   */
  async count(status: DeliveryStatus, cap: number): Promise<number> {
    const row = await this.countQuery(status, cap).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** `replay` for every dead letter the filter matches (and, with `ids`, among those); returns how many. */
  async replayMany(
    filter: DeliveryFilter & { ids?: readonly string[] },
    now: number = Date.now(),
  ): Promise<number> {
    const result = await this.replayQuery(filter, now).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Deletes a dead letter (the event stays in the log). False if it is not dead. */
  async discard(id: string): Promise<boolean> {
    const result = await this.discardQuery({ id }).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** `discard` for every dead letter the filter matches; returns how many. */
  async discardMany(filter: DeliveryFilter): Promise<number> {
    const result = await this.discardQuery(filter).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Index: deliveries_due_idx, read in order up to `limit`, then the primary key. On PostgreSQL the
   * subquery skips rows other claimers hold locked.
   */
  claimQuery(owner: string, limit: number, leaseMs: number, now: number, db: Db = this.#db) {
    const expires = now + leaseMs;
    return db
      .updateTable('deliveries')
      .set((eb) => ({
        status: 'leased' as const,
        attempts: eb('attempts', '+', 1),
        next_attempt_at: expires,
        lease_owner: owner,
        lease_expires_at: expires,
        updated_at: now,
      }))
      .where(({ eb, selectFrom }) => {
        let due = selectFrom('deliveries')
          .select('id')
          .where('next_attempt_at', '<=', now)
          .orderBy('next_attempt_at')
          .orderBy('id')
          .limit(limit);
        if (this.#dialect === 'postgres') due = due.forUpdate().skipLocked();
        return eb('id', 'in', due);
      })
      .returningAll();
  }

  /** Index: primary key. */
  extendQuery(id: string, owner: string, expires: number, now: number) {
    return this.#leased(id, owner).set({
      next_attempt_at: expires,
      lease_expires_at: expires,
      updated_at: now,
    });
  }

  /** Index: primary key. */
  completeQuery(id: string, owner: string, now: number) {
    return this.#leased(id, owner).set({
      ...RELEASED,
      status: 'done',
      next_attempt_at: null,
      updated_at: now,
    });
  }

  /** Index: primary key. */
  retryQuery(
    id: string,
    owner: string,
    nextAttemptAt: number,
    error: string | null,
    status: number | null,
    now: number,
  ) {
    return this.#leased(id, owner).set({
      ...RELEASED,
      status: 'pending',
      next_attempt_at: nextAttemptAt,
      last_error: clip(error),
      last_status: status,
      updated_at: now,
    });
  }

  /** Index: primary key. */
  postponeQuery(id: string, owner: string, nextAttemptAt: number, now: number) {
    return this.#leased(id, owner).set((eb) => ({
      ...RELEASED,
      status: 'pending' as const,
      attempts: eb('attempts', '-', 1),
      next_attempt_at: nextAttemptAt,
      updated_at: now,
    }));
  }

  /** Index: deliveries_subscription_status_id_idx, read in id order (oldest first) up to `limit`. */
  bringForwardQuery(subscription: string, limit: number, now: number) {
    return this.#db
      .updateTable('deliveries')
      .set({ next_attempt_at: now, updated_at: now })
      .where('id', 'in', (db) =>
        db
          .selectFrom('deliveries')
          .select('id')
          .where('subscription', '=', subscription)
          .where('status', '=', 'pending')
          .where('attempts', '=', 0)
          .where('next_attempt_at', '>', now)
          .orderBy('id')
          .limit(limit),
      );
  }

  /**
   * Index: deliveries_subscription_status_id_idx (subscription, status), due time filtered; with
   * `spacingMs`, the same index once more for the count of rows to spread (read once per statement).
   */
  postponeDueQuery(subscription: string, nextAttemptAt: number, now: number, spacingMs?: number) {
    let at: number | RawBuilder<number> = nextAttemptAt;
    if (spacingMs !== undefined) {
      const count = this.#db
        .selectFrom('deliveries')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('subscription', '=', subscription)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now);
      // A uniform offset per row: random() is evaluated per row in both dialects; SQLite's is a
      // 64-bit integer (taken modulo the span), PostgreSQL's a double in [0, 1).
      at =
        this.#dialect === 'sqlite'
          ? sql<number>`${nextAttemptAt} + abs(random() % max(1, min(${MAX_SPREAD_MS}, cast((${count}) * ${spacingMs} as integer))))`
          : sql<number>`${nextAttemptAt} + floor(random() * least(${MAX_SPREAD_MS}, (${count}) * cast(${spacingMs} as double precision)))::bigint`;
    }
    return this.#db
      .updateTable('deliveries')
      .set({ next_attempt_at: at, updated_at: now })
      .where('subscription', '=', subscription)
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now);
  }

  /** Index: deliveries_status_id_idx, read no further than `cap` entries. */
  countQuery(status: DeliveryStatus, cap: number) {
    if (!Number.isSafeInteger(cap) || cap < 1) {
      throw new JunctionError(StoreRecordInvalid, 'cap must be a positive integer');
    }
    return this.#db
      .selectFrom((db) =>
        db.selectFrom('deliveries').select('id').where('status', '=', status).limit(cap).as('capped'),
      )
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'));
  }

  /** Index: primary key. */
  deadLetterQuery(id: string, owner: string, error: string | null, status: number | null, now: number) {
    return this.#leased(id, owner).set({
      ...RELEASED,
      status: 'dead',
      next_attempt_at: null,
      last_error: clip(error),
      last_status: status,
      updated_at: now,
    });
  }

  /** Index: primary key. */
  getQuery(id: string) {
    return this.#db.selectFrom('deliveries').selectAll().where('id', '=', id);
  }

  /** Index: deliveries_event_id_subscription_key. */
  forEventQuery(eventId: string) {
    return this.#db
      .selectFrom('deliveries')
      .selectAll()
      .where('event_id', '=', eventId)
      .orderBy('subscription');
  }

  /**
   * Index: deliveries_subscription_status_id_idx with a subscription, else deliveries_status_id_idx;
   * read backwards from the upper id bound, so no sort and the scan stops after `limit + 1` rows.
   */
  listQuery(status: DeliveryStatus, options: ListDeliveriesOptions) {
    checkLimit(options.limit);
    let q = this.#db
      .selectFrom('deliveries')
      .selectAll()
      .where((eb) => matching(eb, status, options));
    if (options.after !== undefined) q = q.where('id', '<', options.after);
    return q.orderBy('id', 'desc').limit(options.limit + 1);
  }

  /** Index: primary key for one id or a list of ids, else as listQuery. */
  replayQuery(filter: DeliveryFilter & { id?: string; ids?: readonly string[] }, now: number) {
    return this.#db
      .updateTable('deliveries')
      .set({ status: 'pending', attempts: 0, next_attempt_at: now, updated_at: now })
      .where((eb) => matching(eb, 'dead', filter));
  }

  /** Index: primary key for one id, else as listQuery. */
  discardQuery(filter: DeliveryFilter & { id?: string }) {
    return this.#db.deleteFrom('deliveries').where((eb) => matching(eb, 'dead', filter));
  }

  /** The row, only while `owner` holds its lease. */
  #leased(id: string, owner: string) {
    return this.#db
      .updateTable('deliveries')
      .where('id', '=', id)
      .where('status', '=', 'leased')
      .where('lease_owner', '=', owner);
  }
}

/** What every write that ends a lease clears. */
const RELEASED = { lease_owner: null, lease_expires_at: null } as const;

/** Rows in `status` that the filter matches (time range: the delivery id's, i.e. its event's arrival). */
function matching(
  eb: ExpressionBuilder<Database, 'deliveries'>,
  status: DeliveryStatus,
  filter: DeliveryFilter & { id?: string; ids?: readonly string[] },
) {
  const terms = [eb('status', '=', status)];
  if (filter.id !== undefined) terms.push(eb('id', '=', filter.id));
  if (filter.ids !== undefined)
    terms.push(filter.ids.length === 0 ? eb.lit(false) : eb('id', 'in', filter.ids));
  if (filter.subscription !== undefined) terms.push(eb('subscription', '=', filter.subscription));
  if (filter.from !== undefined) terms.push(eb('id', '>=', idFloor('dlv', filter.from)));
  if (filter.to !== undefined) terms.push(eb('id', '<', idFloor('dlv', filter.to)));
  return eb.and(terms);
}

function clip(error: string | null): string | null {
  return error === null || error.length <= MAX_ERROR_LENGTH
    ? error
    : `${error.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}

function checkStatus(status: number | null): void {
  if (status !== null && !(Number.isInteger(status) && status >= 100 && status <= 999)) {
    throw new JunctionError(StoreRecordInvalid, 'status must be an HTTP status code or null');
  }
}

export function toDelivery(row: DeliveriesTable): Delivery {
  return {
    id: row.id,
    eventId: row.event_id,
    subscription: row.subscription,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    lastError: row.last_error,
    lastStatus: row.last_status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
