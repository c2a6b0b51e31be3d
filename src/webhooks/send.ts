/**
 * Sending a message to an application (issue #7): the event type must exist, the payload must
 * validate against its current schema version, then the message and its fan-out are stored in one
 * transaction on the event hub's queue (src/store/webhook-messages.ts). Durable once this resolves.
 */
import { JunctionError, PayloadTooLarge } from '../core/errors.ts';
import type { IdIssuer, SendResult, Store } from '../store/index.ts';
import { WebhookEventTypeUnknown } from './errors.ts';
import { validatePayload } from './payload-schema.ts';
import type { WebhookSettings } from './settings.ts';

export interface SendInput {
  eventType: string;
  payload: unknown;
  /** The sender's id for the message: a second send with it stores nothing and returns the first. */
  eventId?: string;
  channels?: string[];
}

/**
 * @example
 * const r = await sendMessage(store, services.ids, app.id, { eventType: 'order.created', payload }, settings);
 * if ('appGone' in r) throw notFound();
 */
export async function sendMessage(
  store: Pick<Store, 'webhooks'>,
  ids: IdIssuer,
  appId: string,
  input: SendInput,
  settings: Pick<WebhookSettings, 'maxPayloadBytes'>,
  now: number = Date.now(),
): Promise<SendResult> {
  const type = await store.webhooks.eventTypes.get(input.eventType);
  if (type === undefined) {
    throw new JunctionError(WebhookEventTypeUnknown, `no event type ${input.eventType}; create it first`);
  }
  if (type.version > 0) {
    const schema = await store.webhooks.eventTypes.schema(type.name, type.version);
    if (schema !== undefined) validatePayload(`${type.name}@${type.version}`, schema.schema, input.payload);
  }
  const text = JSON.stringify(input.payload);
  if (Buffer.byteLength(text) > settings.maxPayloadBytes) {
    throw new JunctionError(
      PayloadTooLarge,
      `a message payload is at most ${settings.maxPayloadBytes} bytes of JSON`,
    );
  }
  return store.webhooks.messages.send(
    {
      appId,
      eventType: type.name,
      eventId: input.eventId ?? null,
      channels: input.channels ?? null,
      payload: text,
      schemaVersion: type.version,
    },
    ids,
    now,
  );
}
