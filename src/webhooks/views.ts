/**
 * What the admin API shows of outbound webhook records: one TypeBox schema per view (the OpenAPI
 * response schema and the typed client's result type) and the function that builds it. Times are
 * RFC 3339; secrets are never part of a view except the endpoint's secret view.
 */
import Type, { type Static } from 'typebox';
import type {
  Delivery,
  WebhookApp,
  WebhookAttempt,
  WebhookEndpoint,
  WebhookEventType,
  WebhookEventTypeSchema,
  WebhookMessage,
} from '../store/index.ts';
import type { SecretBox } from './secret-box.ts';
import { publicKeyOfEndpoint } from './secrets.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ format: 'date-time' });
const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export const AppView = Type.Object({
  id: Type.String(),
  uid: Nullable(Type.String()),
  name: Type.String(),
  tenant: Nullable(Type.String()),
  rate_limit: Nullable(Type.Integer({ description: 'Deliveries per second per endpoint' })),
  retry_schedule_ms: Nullable(
    Type.Array(Type.Integer(), { description: "Retry delays of its endpoints; null: the settings'" }),
  ),
  created_at: Time,
  updated_at: Time,
  deleted_at: Nullable(Time),
});
export type AppView = Static<typeof AppView>;

export function appView(a: WebhookApp): AppView {
  return {
    id: a.id,
    uid: a.uid,
    name: a.name,
    tenant: a.tenant === '' ? null : a.tenant,
    rate_limit: a.rateLimit,
    retry_schedule_ms: a.retryScheduleMs,
    created_at: iso(a.createdAt),
    updated_at: iso(a.updatedAt),
    deleted_at: isoOrNull(a.deletedAt),
  };
}

export const EndpointView = Type.Object({
  id: Type.String(),
  app_id: Type.String(),
  uid: Nullable(Type.String()),
  url: Type.String(),
  description: Type.String(),
  filter_types: Nullable(Type.Array(Type.String())),
  channels: Nullable(Type.Array(Type.String())),
  headers: Type.Record(Type.String(), Type.String()),
  disabled: Type.Boolean(),
  rate_limit: Nullable(Type.Integer({ description: "Deliveries per second; null: the application's" })),
  max_concurrency: Nullable(Type.Integer({ description: 'Attempts in flight at once; null: no limit' })),
  retry_schedule_ms: Nullable(
    Type.Array(Type.Integer(), { description: "Retry delays; null: the application's, else the settings'" }),
  ),
  ed25519: Type.Boolean({ description: 'Requests carry a v1a Ed25519 signature too' }),
  failing_since: Nullable(Time),
  created_at: Time,
  updated_at: Time,
  deleted_at: Nullable(Time),
});
export type EndpointView = Static<typeof EndpointView>;

export function endpointView(e: WebhookEndpoint): EndpointView {
  return {
    id: e.id,
    app_id: e.appId,
    uid: e.uid,
    url: e.url,
    description: e.description,
    filter_types: e.filterTypes,
    channels: e.channels,
    headers: e.headers,
    disabled: e.disabledAt !== null,
    rate_limit: e.rateLimit,
    max_concurrency: e.maxConcurrency,
    retry_schedule_ms: e.retryScheduleMs,
    ed25519: e.signingKey !== null,
    failing_since: isoOrNull(e.failingSince),
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
    deleted_at: isoOrNull(e.deletedAt),
  };
}

export const SecretView = Type.Object({
  key: Type.String({ description: 'The whsec_… secret that signs every request' }),
  previous: Type.Array(
    Type.Object({ key: Type.String(), expires_at: Time }, { description: 'Rotated-out, still signing' }),
  ),
  public_key: Nullable(
    Type.String({ description: 'The whpk_ Ed25519 public key that verifies v1a signatures; null: none' }),
  ),
});
export type SecretView = Static<typeof SecretView>;

export function secretView(e: WebhookEndpoint, now: number, box: SecretBox): SecretView {
  const live = e.previousSecrets.filter((p) => p.expiresAt > now);
  return {
    key: box.open(e.secret, e.id, 'secret'),
    previous: live.map((p) => ({ key: box.open(p.secret, e.id, 'secret'), expires_at: iso(p.expiresAt) })),
    public_key: publicKeyOfEndpoint(e, box),
  };
}

export const MessageView = Type.Object({
  id: Type.String(),
  app_id: Type.String(),
  event_type: Type.String(),
  event_id: Nullable(Type.String()),
  channels: Nullable(Type.Array(Type.String())),
  payload: Type.Unknown({ description: 'The JSON payload; null once past payload retention' }),
  schema_version: Type.Integer({ description: 'The schema version it was validated against; 0: none' }),
  created_at: Time,
});
export type MessageView = Static<typeof MessageView>;

export function messageView(m: WebhookMessage): MessageView {
  return {
    id: m.id,
    app_id: m.appId,
    event_type: m.eventType,
    event_id: m.eventId,
    channels: m.channels,
    payload: m.payload === null ? null : (JSON.parse(m.payload) as unknown),
    schema_version: m.schemaVersion,
    created_at: iso(m.createdAt),
  };
}

export const SentView = Type.Object({
  ...MessageView.properties,
  duplicate: Type.Boolean({ description: 'True when the eventId was sent before: this is that message' }),
  endpoints: Type.Integer({ description: 'Endpoints the message was queued for (0 for a duplicate)' }),
});
export type SentView = Static<typeof SentView>;

export const MessageDeliveryView = Type.Object({
  endpoint_id: Type.String(),
  status: Type.String({ description: 'pending, leased, done or dead' }),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Time),
  last_error: Nullable(Type.String()),
  last_status: Nullable(Type.Integer()),
});

export const MessageDetailView = Type.Object({
  ...MessageView.properties,
  deliveries: Type.Array(MessageDeliveryView),
});
export type MessageDetailView = Static<typeof MessageDetailView>;

export function messageDetailView(m: WebhookMessage, deliveries: Delivery[]): MessageDetailView {
  return {
    ...messageView(m),
    deliveries: deliveries
      .filter((d) => d.subscription.startsWith('ep:'))
      .map((d) => ({
        endpoint_id: d.subscription.slice(3),
        status: d.status,
        attempts: d.attempts,
        next_attempt_at: isoOrNull(d.nextAttemptAt),
        last_error: d.lastError,
        last_status: d.lastStatus,
      })),
  };
}

export const AttemptView = Type.Object({
  id: Type.String(),
  message_id: Type.String(),
  endpoint_id: Type.String(),
  status: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]),
  response_status: Nullable(Type.Integer()),
  response_body: Nullable(Type.String()),
  response_headers: Nullable(Type.Record(Type.String(), Type.String())),
  duration_ms: Type.Integer(),
  error: Nullable(Type.String()),
  created_at: Time,
});
export type AttemptView = Static<typeof AttemptView>;

export function attemptView(a: WebhookAttempt): AttemptView {
  return {
    id: a.id,
    message_id: a.messageId,
    endpoint_id: a.endpointId,
    status: a.status,
    response_status: a.responseStatus,
    response_body: a.responseBody,
    response_headers: a.responseHeaders,
    duration_ms: a.durationMs,
    error: a.error,
    created_at: iso(a.createdAt),
  };
}

export const EventTypeView = Type.Object({
  name: Type.String(),
  description: Type.String(),
  version: Type.Integer({ description: 'Current schema version; 0: payloads are not validated' }),
  created_at: Time,
  updated_at: Time,
  archived_at: Nullable(Time),
});
export type EventTypeView = Static<typeof EventTypeView>;

export function eventTypeView(t: WebhookEventType): EventTypeView {
  return {
    name: t.name,
    description: t.description,
    version: t.version,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
    archived_at: isoOrNull(t.deletedAt),
  };
}

export const SchemaVersionView = Type.Object({
  event_type: Type.String(),
  version: Type.Integer(),
  schema: Type.Unknown(),
  compatibility: Type.String({ description: 'The check it passed against the previous version' }),
  created_at: Time,
});
export type SchemaVersionView = Static<typeof SchemaVersionView>;

export function schemaVersionView(s: WebhookEventTypeSchema): SchemaVersionView {
  return {
    event_type: s.eventType,
    version: s.version,
    schema: s.schema,
    compatibility: s.compatibility,
    created_at: iso(s.createdAt),
  };
}

/** Offset pages (event types): numbered pages with the total, for a small admin table. */
export function offsetPageSchema<T extends Parameters<typeof Type.Array>[0]>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    page: Type.Integer(),
    per_page: Type.Integer(),
    total: Type.Integer(),
    total_pages: Type.Integer(),
  });
}
