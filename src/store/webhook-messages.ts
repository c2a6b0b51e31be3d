/**
 * Messages sent to an outbound webhook application and the attempt log (issue #7).
 *
 * `send` is one transaction that (1) inserts the message, `on conflict do nothing` on the partial
 * unique index (app_id, event_id), so a repeated `eventId` stores nothing and returns the first
 * message; (2) reads the application's live, enabled endpoints and keeps those whose event-type
 * filter and channels match; (3) appends the message to the event log (`events`, source
 * `app:<app id>`, external id the message id) with one `deliveries` row per matched endpoint
 * (subscription `ep:<endpoint id>`). Once it commits the message is durable and its fan-out queued on
 * the event hub's queue (src/store/deliveries.ts), whose leases, retries and dead letters serve both.
 * A soft-deleted application or endpoint gets nothing: the reads are in the transaction.
 *
 * Every query is built by a `…Query` method so the query-plan test explains what runs (Q49).
 */
import type { Kysely } from 'kysely';
import { parseId } from '../core/ids.ts';
import { checkLimit } from './checks.ts';
import type { Page } from './config-revisions.ts';
import type { IdIssuer } from './events.ts';
import type {
  Database,
  DeliveriesTable,
  WebhookAttemptStatus,
  WebhookMessageAttemptsTable,
  WebhookMessagesTable,
} from './schema.ts';
import { toEndpoint, type WebhookEndpoint } from './webhook-endpoints.ts';

export interface WebhookMessage {
  /** `msg_<snowflake>`. */
  id: string;
  appId: string;
  eventType: string;
  eventId: string | null;
  channels: string[] | null;
  /** The JSON text; null once past payload retention. */
  payload: string | null;
  schemaVersion: number;
  /** The `events` row that carries it through the delivery queue (`evt_…`). */
  queueEventId: string;
  createdAt: number;
}

export interface NewWebhookMessage {
  appId: string;
  eventType: string;
  eventId?: string | null;
  channels?: string[] | null;
  /** JSON text, already validated. */
  payload: string;
  schemaVersion: number;
}

export type SendResult =
  | { duplicate: false; message: WebhookMessage; endpoints: string[] }
  /** The application already has a message with this eventId: nothing was written. */
  | { duplicate: true; message: WebhookMessage }
  /** The application is deleted (or gone): nothing was written. */
  | { appGone: true };

export interface WebhookAttempt {
  /** `atmpt_<snowflake>`. */
  id: string;
  appId: string;
  messageId: string;
  endpointId: string;
  status: WebhookAttemptStatus;
  responseStatus: number | null;
  responseBody: string | null;
  responseHeaders: Record<string, string> | null;
  durationMs: number;
  error: string | null;
  createdAt: number;
}

export type NewWebhookAttempt = Omit<WebhookAttempt, 'id' | 'createdAt' | 'responseBody'> & {
  responseBody?: string | null;
};

export interface ListMessagesOptions {
  limit: number;
  after?: string;
  eventType?: string;
}

export interface ListAttemptsOptions {
  limit: number;
  after?: string;
  messageId?: string;
  endpointId?: string;
}

/** Issue #7: the attempt log keeps at most 20 kB of each answer. */
export const MAX_RESPONSE_BODY_CHARS = 20_000;
/** The event log's source for the messages of an application, and the subscription of an endpoint. */
export const appSource = (appId: string) => `app:${appId}`;
export const endpointSubscription = (endpointId: string) => `ep:${endpointId}`;
/** `msg_X` travels through the event log as `evt_X`, and back. */
export const queueEventIdOf = (messageId: string) => `evt_${messageId.slice('msg_'.length)}`;
export const messageIdOf = (queueEventId: string) => `msg_${queueEventId.slice('evt_'.length)}`;

type Db = Kysely<Database>;

export class WebhookMessageRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Stores the message and queues one delivery per matching endpoint, atomically.
   * @example
   * const r = await store.webhooks.messages.send({ appId, eventType: 'order.created', payload }, ids, Date.now());
   */
  async send(input: NewWebhookMessage, ids: IdIssuer, now: number): Promise<SendResult> {
    return this.#db.transaction().execute(async (trx): Promise<SendResult> => {
      const app = await trx
        .selectFrom('webhook_apps')
        .select('id')
        .where('id', '=', input.appId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (app === undefined) return { appGone: true };
      const id = ids.next('msg');
      // The same Snowflake under the event log's prefix: unique (the issuer never repeats a body),
      // and the delivery worker maps an event back to its message without a lookup.
      const queueEventId = queueEventIdOf(id);
      const row: WebhookMessagesTable = {
        id,
        app_id: input.appId,
        event_type: input.eventType,
        event_id: input.eventId ?? null,
        channels: input.channels == null ? null : JSON.stringify(input.channels),
        payload: input.payload,
        schema_version: input.schemaVersion,
        queue_event_id: queueEventId,
        created_at: now,
      };
      if ((await this.insertQuery(row, trx).executeTakeFirst()) === undefined) {
        const existing = await this.byEventIdQuery(
          input.appId,
          input.eventId!,
          trx,
        ).executeTakeFirstOrThrow();
        return { duplicate: true, message: toMessage(existing) };
      }
      const endpoints = (await this.activeEndpointsQuery(input.appId, trx).execute())
        .map(toEndpoint)
        .filter((ep) => matches(ep, input.eventType, input.channels ?? null));
      // The event log keeps `received_at` equal to the time inside the id (src/store/events.ts).
      const receivedAt = parseId(queueEventId).timestampMs;
      await trx
        .insertInto('events')
        .values({
          id: queueEventId,
          source: appSource(input.appId),
          type: input.eventType,
          external_id: id,
          received_at: receivedAt,
          payload: Buffer.from(input.payload, 'utf8'),
          headers: JSON.stringify({ 'content-type': 'application/json', 'webhook-message-id': id }),
        })
        .execute();
      if (endpoints.length > 0) {
        const deliveries: DeliveriesTable[] = endpoints.map((ep) => ({
          id: ids.next('dlv'),
          event_id: queueEventId,
          subscription: endpointSubscription(ep.id),
          status: 'pending',
          attempts: 0,
          next_attempt_at: receivedAt,
          lease_owner: null,
          lease_expires_at: null,
          last_error: null,
          last_status: null,
          created_at: receivedAt,
          updated_at: receivedAt,
        }));
        await trx.insertInto('deliveries').values(deliveries).execute();
      }
      return { duplicate: false, message: toMessage(row), endpoints: endpoints.map((e) => e.id) };
    });
  }

  async get(appId: string, id: string): Promise<WebhookMessage | undefined> {
    const row = await this.getQuery(appId, id).executeTakeFirst();
    return row && toMessage(row);
  }

  /** The message carried by this queue event (the delivery worker's lookup). */
  async byQueueEvent(appId: string, queueEventId: string): Promise<WebhookMessage | undefined> {
    const row = await this.#db
      .selectFrom('webhook_messages')
      .selectAll()
      .where('app_id', '=', appId)
      .where('queue_event_id', '=', queueEventId)
      .executeTakeFirst();
    return row && toMessage(row);
  }

  /** The application's messages, newest first. */
  async list(appId: string, options: ListMessagesOptions): Promise<Page<WebhookMessage>> {
    const rows = await this.listQuery(appId, options).execute();
    const items = rows.slice(0, options.limit).map(toMessage);
    const last = items.at(-1);
    return rows.length > options.limit && last ? { items, next: last.id } : { items };
  }

  /** Appends one attempt to the log; the response body is cut to MAX_RESPONSE_BODY_CHARS. */
  async recordAttempt(input: NewWebhookAttempt, ids: IdIssuer, now: number): Promise<WebhookAttempt> {
    const row: WebhookMessageAttemptsTable = {
      id: ids.next('atmpt'),
      app_id: input.appId,
      message_id: input.messageId,
      endpoint_id: input.endpointId,
      status: input.status,
      response_status: input.responseStatus,
      response_body: input.responseBody == null ? null : input.responseBody.slice(0, MAX_RESPONSE_BODY_CHARS),
      response_headers: input.responseHeaders === null ? null : JSON.stringify(input.responseHeaders),
      duration_ms: Math.max(0, Math.round(input.durationMs)),
      error: input.error,
      created_at: now,
    };
    await this.#db.insertInto('webhook_message_attempts').values(row).execute();
    return toAttempt(row);
  }

  /** The application's attempts, newest first, optionally of one message or endpoint. */
  async listAttempts(appId: string, options: ListAttemptsOptions): Promise<Page<WebhookAttempt>> {
    const rows = await this.listAttemptsQuery(appId, options).execute();
    const items = rows.slice(0, options.limit).map(toAttempt);
    const last = items.at(-1);
    return rows.length > options.limit && last ? { items, next: last.id } : { items };
  }

  /** Drops the payload of up to `limit` messages created before `before` (payload retention). */
  async purgePayloads(before: number, limit = 500): Promise<number> {
    checkLimit(limit);
    const result = await this.purgePayloadsQuery(before, limit).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Index: webhook_messages_app_event_id_key is the conflict target. */
  insertQuery(row: WebhookMessagesTable, db: Db = this.#db) {
    return db
      .insertInto('webhook_messages')
      .values(row)
      .onConflict((oc) => oc.columns(['app_id', 'event_id']).where('event_id', 'is not', null).doNothing())
      .returning('id');
  }

  /** Index: webhook_messages_app_event_id_key. */
  byEventIdQuery(appId: string, eventId: string, db: Db = this.#db) {
    return db
      .selectFrom('webhook_messages')
      .selectAll()
      .where('app_id', '=', appId)
      .where('event_id', '=', eventId);
  }

  /** Index: webhook_endpoints_app_id_id_idx. */
  activeEndpointsQuery(appId: string, db: Db = this.#db) {
    return db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('app_id', '=', appId)
      .where('deleted_at', 'is', null)
      .where('disabled_at', 'is', null)
      .orderBy('id');
  }

  /** Index: primary key. */
  getQuery(appId: string, id: string) {
    return this.#db
      .selectFrom('webhook_messages')
      .selectAll()
      .where('id', '=', id)
      .where('app_id', '=', appId);
  }

  /** Index: webhook_messages_app_id_id_idx, read backwards. */
  listQuery(appId: string, options: ListMessagesOptions) {
    checkLimit(options.limit);
    let q = this.#db.selectFrom('webhook_messages').selectAll().where('app_id', '=', appId);
    if (options.eventType !== undefined) q = q.where('event_type', '=', options.eventType);
    if (options.after !== undefined) q = q.where('id', '<', options.after);
    return q.orderBy('id', 'desc').limit(options.limit + 1);
  }

  /** Index: the message's, the endpoint's or the application's attempts index, read backwards. */
  listAttemptsQuery(appId: string, options: ListAttemptsOptions) {
    checkLimit(options.limit);
    let q = this.#db.selectFrom('webhook_message_attempts').selectAll().where('app_id', '=', appId);
    if (options.messageId !== undefined) q = q.where('message_id', '=', options.messageId);
    if (options.endpointId !== undefined) q = q.where('endpoint_id', '=', options.endpointId);
    if (options.after !== undefined) q = q.where('id', '<', options.after);
    return q.orderBy('id', 'desc').limit(options.limit + 1);
  }

  /** Index: webhook_messages_payload_created_at_idx (partial: payloads still held). */
  purgePayloadsQuery(before: number, limit: number) {
    return this.#db
      .updateTable('webhook_messages')
      .set({ payload: null })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('webhook_messages')
          .select('id')
          .where('payload', 'is not', null)
          .where('created_at', '<', before)
          .orderBy('created_at')
          .limit(limit),
      );
  }
}

/** Whether an endpoint takes a message: its type filter names the type, and a channel is shared. */
export function matches(ep: WebhookEndpoint, eventType: string, channels: readonly string[] | null): boolean {
  if (ep.filterTypes !== null && !ep.filterTypes.includes(eventType)) return false;
  const wanted = ep.channels;
  if (wanted === null) return true;
  return channels?.some((c) => wanted.includes(c)) ?? false;
}

function toMessage(row: WebhookMessagesTable): WebhookMessage {
  return {
    id: row.id,
    appId: row.app_id,
    eventType: row.event_type,
    eventId: row.event_id,
    channels: row.channels === null ? null : (JSON.parse(row.channels) as string[]),
    payload: row.payload,
    schemaVersion: row.schema_version,
    queueEventId: row.queue_event_id,
    createdAt: row.created_at,
  };
}

function toAttempt(row: WebhookMessageAttemptsTable): WebhookAttempt {
  return {
    id: row.id,
    appId: row.app_id,
    messageId: row.message_id,
    endpointId: row.endpoint_id,
    status: row.status,
    responseStatus: row.response_status,
    responseBody: row.response_body,
    responseHeaders:
      row.response_headers === null ? null : (JSON.parse(row.response_headers) as Record<string, string>),
    durationMs: row.duration_ms,
    error: row.error,
    createdAt: row.created_at,
  };
}
