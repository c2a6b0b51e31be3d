/**
 * Dead letters of outbound webhook endpoints and their recovery (issue #7 "Dead letters and
 * recovery", Q40; docs/webhooks-outbound.md). A message's delivery to an endpoint is a `deliveries`
 * row (subscription `ep:<endpoint id>`) of the message's `events` row, so an endpoint's dead letters
 * are one range of `deliveries_subscription_status_id_idx`, newest first.
 *
 * Recovery works one endpoint and one page at a time, each page two short statements (read up to
 * `limit` dead letters, requeue those the filter keeps) and no transaction: a million dead letters
 * never become one giant statement, and a page that races a worker or another recovery only requeues
 * what is still dead. The scan starts at the newest dead letter and stops at `since`: a delivery id is
 * issued with or after its message (same issuer, later or equal time), so below `floor(since)` there
 * is nothing left to find, and the message time itself (the Snowflake in `event_id`) decides exactly.
 * `until`, being no bound on the delivery id (a delivery added by a resend is younger than its
 * message), filters what the scan reads. Types are the event row's `type`.
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { JunctionError } from '../core/errors.ts';
import { parseId } from '../core/ids.ts';
import { checkLimit } from './checks.ts';
import type { Page } from './config-revisions.ts';
import { StoreRecordInvalid } from './errors.ts';
import type { IdIssuer } from './events.ts';
import { idFloor } from './id-range.ts';
import type { Database, DeliveryStatus } from './schema.ts';
import { endpointSubscription, messageIdOf } from './webhook-messages.ts';

/** A message an endpoint did not get: the retries ran out, or it was refused. */
export interface DeadLetter {
  /** `dlv_…`: the delivery row; also the page key. */
  deliveryId: string;
  messageId: string;
  endpointId: string;
  eventType: string;
  /** Attempts made before it died. */
  attempts: number;
  lastError: string | null;
  /** The HTTP status of the last attempt; null when it got no answer. */
  lastStatus: number | null;
  /** When it was dead-lettered (the row's last change). */
  diedAt: number;
  /** When the message was sent (the time in its id). */
  sentAt: number;
}

/** Which dead letters of an endpoint to requeue; times are epoch ms of the message. */
export interface RecoveryFilter {
  /** Sent at or after. */
  since?: number;
  /** Sent before. */
  until?: number;
  /** Of these event types only; absent: all. */
  eventTypes?: readonly string[];
}

export interface RecoveryPage {
  /** Dead letters read by this page. */
  scanned: number;
  /** Of those, set pending again (the filter kept them and they were still dead). */
  requeued: number;
  /** Where the next page starts; undefined when the endpoint is done. */
  next?: string;
}

export type ResendResult =
  /** The existing delivery is pending again, due now, attempts from zero; `was` its state before. */
  | { kind: 'requeued'; deliveryId: string; was: DeliveryStatus }
  /** The endpoint never had the message: a delivery was added. */
  | { kind: 'added'; deliveryId: string }
  /** A worker holds the delivery's lease right now. */
  | { kind: 'in-flight'; deliveryId: string }
  /** The message (or its queue event) does not exist in the application. */
  | { kind: 'no-message' };

type Db = Kysely<Database>;

export class WebhookRecoveryRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * One page of the endpoint's dead letters, newest first.
   * @example
   * const { items, next } = await store.webhooks.recovery.listDead(ep.id, { limit: 50 });
   */
  async listDead(endpointId: string, options: { limit: number; after?: string }): Promise<Page<DeadLetter>> {
    const rows = await this.deadQuery(endpointId, options).execute();
    const items = rows.slice(0, options.limit).map((r) => toDeadLetter(endpointId, r));
    const last = items.at(-1);
    return rows.length > options.limit && last ? { items, next: last.deliveryId } : { items };
  }

  /** How many dead letters a recovery from `since` reads on the endpoint (its progress total). */
  async countDead(endpointId: string, since?: number): Promise<number> {
    const row = await this.countDeadQuery(endpointId, since).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * Reads up to `limit` of the endpoint's dead letters below `after` (newest first, down to
   * `filter.since`) and requeues those the filter keeps: pending, due `now`, attempts from zero.
   * @example
   * let next: string | undefined;
   * do ({ next } = await store.webhooks.recovery.requeuePage(ep.id, { since }, next, 500));
   * while (next !== undefined);
   */
  async requeuePage(
    endpointId: string,
    filter: RecoveryFilter,
    after: string | undefined,
    limit: number,
    now: number = Date.now(),
  ): Promise<RecoveryPage> {
    checkLimit(limit);
    const read = await this.scanQuery(endpointId, after, limit).execute();
    // The scan's lower end is checked here, not in SQL: with both ends SQLite's planner (no ANALYZE
    // statistics) picks deliveries_status_id_idx and reads every endpoint's dead letters. Reading
    // past `since` costs at most one page.
    const stop = filter.since === undefined ? undefined : idFloor('dlv', filter.since);
    const rows = stop === undefined ? read : read.filter((r) => r.id >= stop);
    const floor = filter.since === undefined ? undefined : idFloor('evt', filter.since);
    const ceiling = filter.until === undefined ? undefined : idFloor('evt', filter.until);
    const types = filter.eventTypes === undefined ? undefined : new Set(filter.eventTypes);
    const keep = rows
      .filter(
        (r) =>
          (floor === undefined || r.event_id >= floor) &&
          (ceiling === undefined || r.event_id < ceiling) &&
          (types === undefined || types.has(r.type)),
      )
      .map((r) => r.id);
    const requeued =
      keep.length === 0 ? 0 : Number((await this.requeueQuery(keep, now).executeTakeFirst()).numUpdatedRows);
    const last = rows.at(-1);
    const more = read.length === limit && rows.length === read.length;
    return { scanned: rows.length, requeued, ...(more && last ? { next: last.id } : {}) };
  }

  /**
   * Sends one message to one endpoint again, whatever became of it: its delivery, if any and not
   * leased right now, is pending now with attempts from zero; if the endpoint never had the message
   * (created later, or its filter left the message out) a delivery is added. The caller checks the
   * endpoint is a live endpoint of `appId`.
   * @example
   * const r = await store.webhooks.recovery.resend(app.id, 'msg_…', ep.id, ids);
   */
  async resend(
    appId: string,
    messageId: string,
    endpointId: string,
    ids: IdIssuer,
    now: number = Date.now(),
  ): Promise<ResendResult> {
    const message = await this.messageQuery(appId, messageId).executeTakeFirst();
    if (message === undefined) return { kind: 'no-message' };
    const eventId = message.queue_event_id;
    const subscription = endpointSubscription(endpointId);
    // Requeue, else add; a concurrent resend may add the row between the two, hence the second round.
    for (let round = 0; round < 2; round++) {
      const before = await this.deliveryQuery(eventId, subscription).executeTakeFirst();
      if (before !== undefined) {
        if (before.status === 'leased' && (before.lease_expires_at ?? 0) > now) {
          return { kind: 'in-flight', deliveryId: before.id };
        }
        const done = await this.resendQuery(before, now).executeTakeFirst();
        // Changed meanwhile (claimed, completed): look again.
        if (done.numUpdatedRows > 0n) return { kind: 'requeued', deliveryId: before.id, was: before.status };
        continue;
      }
      const id = ids.next('dlv');
      const added = await this.addQuery(id, eventId, subscription, now).executeTakeFirst();
      if (added !== undefined) return { kind: 'added', deliveryId: id };
    }
    const current = await this.deliveryQuery(eventId, subscription).executeTakeFirst();
    return { kind: 'in-flight', deliveryId: current?.id ?? '' };
  }

  /**
   * Index: deliveries_subscription_status_id_idx read backwards from `after`, then the event by its
   * primary key.
   */
  deadQuery(endpointId: string, options: { limit: number; after?: string }) {
    checkLimit(options.limit);
    let q = this.#db
      .selectFrom('deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .select(['d.id', 'd.event_id', 'd.attempts', 'd.last_error', 'd.last_status', 'd.updated_at', 'e.type'])
      .where('d.subscription', '=', endpointSubscription(endpointId))
      .where('d.status', '=', 'dead');
    if (options.after !== undefined) q = q.where('d.id', '<', options.after);
    return q.orderBy('d.id', 'desc').limit(options.limit + 1);
  }

  /** Index: deliveries_subscription_status_id_idx, the range from `since` only. */
  countDeadQuery(endpointId: string, since?: number) {
    let q = this.#db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('subscription', '=', endpointSubscription(endpointId))
      .where('status', '=', 'dead');
    if (since !== undefined) q = q.where('id', '>=', idFloor('dlv', since));
    return q;
  }

  /** Index: deliveries_subscription_status_id_idx read backwards from `after`, then events by primary key. */
  scanQuery(endpointId: string, after: string | undefined, limit: number) {
    let q = this.#db
      .selectFrom('deliveries as d')
      .innerJoin('events as e', 'e.id', 'd.event_id')
      .select(['d.id', 'd.event_id', 'e.type'])
      .where('d.subscription', '=', endpointSubscription(endpointId))
      .where('d.status', '=', 'dead');
    if (after !== undefined) q = q.where('d.id', '<', after);
    return q.orderBy('d.id', 'desc').limit(limit);
  }

  /** Index: primary key; only rows still dead. */
  requeueQuery(ids: readonly string[], now: number) {
    if (ids.length === 0) throw new JunctionError(StoreRecordInvalid, 'no deliveries to requeue');
    return this.#db
      .updateTable('deliveries')
      .set({ status: 'pending', attempts: 0, next_attempt_at: now, updated_at: now })
      .where('id', 'in', ids)
      .where('status', '=', 'dead');
  }

  /** Index: primary key. */
  messageQuery(appId: string, messageId: string) {
    return this.#db
      .selectFrom('webhook_messages')
      .select(['id', 'queue_event_id'])
      .where('id', '=', messageId)
      .where('app_id', '=', appId);
  }

  /** Index: deliveries_event_id_subscription_key. */
  deliveryQuery(eventId: string, subscription: string) {
    return this.#db
      .selectFrom('deliveries')
      .select(['id', 'status', 'lease_expires_at', 'updated_at'])
      .where('event_id', '=', eventId)
      .where('subscription', '=', subscription);
  }

  /**
   * Index: primary key. Compare-and-set on the status and `updated_at` read (every write of a
   * delivery sets it) and never while a lease runs: a claim or completion that came in between wins,
   * and a worker's lease is never broken.
   */
  resendQuery(seen: { id: string; status: DeliveryStatus; updated_at: number }, now: number) {
    return this.#db
      .updateTable('deliveries')
      .set({
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        lease_owner: null,
        lease_expires_at: null,
        updated_at: now,
      })
      .where('id', '=', seen.id)
      .where('status', '=', seen.status)
      .where('updated_at', '=', seen.updated_at)
      .where((eb) => eb.or([eb('status', '<>', 'leased'), eb('lease_expires_at', '<=', now)]));
  }

  /** Index: deliveries_event_id_subscription_key is the conflict target. */
  addQuery(id: string, eventId: string, subscription: string, now: number) {
    return this.#db
      .insertInto('deliveries')
      .values({
        id,
        event_id: eventId,
        subscription,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        lease_owner: null,
        lease_expires_at: null,
        last_error: null,
        last_status: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['event_id', 'subscription']).doNothing())
      .returning('id');
  }
}

function toDeadLetter(
  endpointId: string,
  r: {
    id: string;
    event_id: string;
    attempts: number;
    last_error: string | null;
    last_status: number | null;
    updated_at: number;
    type: string;
  },
): DeadLetter {
  return {
    deliveryId: r.id,
    messageId: messageIdOf(r.event_id),
    endpointId,
    eventType: r.type,
    attempts: r.attempts,
    lastError: r.last_error,
    lastStatus: r.last_status,
    diedAt: Number(r.updated_at),
    sentAt: parseId(r.event_id).timestampMs,
  };
}
