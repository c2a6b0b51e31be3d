/**
 * Events and deliveries as JSON for the admin API and the CLI (`junction dlq list --json`,
 * `junction events export`): snake_case, times in RFC 3339, the payload as text when it is UTF-8 and
 * base64 otherwise (`payload_encoding` says which), so NDJSON exports round-trip byte for byte.
 */
import type { Delivery, StoredEvent } from '../store/index.ts';

export interface EventView {
  id: string;
  source: string;
  type: string;
  external_id: string | null;
  received_at: string;
  headers: Record<string, string>;
  payload_encoding: 'utf8' | 'base64';
  payload: string;
}

export interface DeliveryView {
  id: string;
  event_id: string;
  subscription: string;
  status: Delivery['status'];
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  last_status: number | null;
  created_at: string;
  updated_at: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function eventView(e: StoredEvent): EventView {
  let text: string | undefined;
  try {
    text = utf8.decode(e.payload);
  } catch {
    text = undefined;
  }
  return {
    id: e.id,
    source: e.source,
    type: e.type,
    external_id: e.externalId,
    received_at: new Date(e.receivedAt).toISOString(),
    headers: e.headers,
    payload_encoding: text === undefined ? 'base64' : 'utf8',
    payload: text ?? e.payload.toString('base64'),
  };
}

export function deliveryView(d: Delivery): DeliveryView {
  return {
    id: d.id,
    event_id: d.eventId,
    subscription: d.subscription,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.nextAttemptAt === null ? null : new Date(d.nextAttemptAt).toISOString(),
    last_error: d.lastError,
    last_status: d.lastStatus,
    created_at: new Date(d.createdAt).toISOString(),
    updated_at: new Date(d.updatedAt).toISOString(),
  };
}
