/**
 * The body of one webhook request. A single event goes out as its stored payload, byte for byte, with
 * its own content type: the receiver gets what the source sent. A batch goes out as one JSON array of
 * envelopes (docs/events-delivery.md "Batches"):
 *
 *   [{ "id", "type", "source", "timestamp", "contentType", "data" | "dataBase64" }, …]
 *
 * JSON rather than NDJSON: every webhook receiver parses JSON, Standard Webhooks payloads are JSON
 * objects, and a batch is bounded by `maxEvents`, so streaming line by line buys nothing.
 */
import { createHash } from 'node:crypto';
import type { OutgoingEvent } from './types.ts';

export interface RequestBody {
  /** `webhook-id`: the event id, or for a batch an id derived from its events' ids. */
  id: string;
  body: Uint8Array | string;
  contentType: string;
  /** The events in the body; a batch leaves out those it cannot encode (`invalid`). */
  events: OutgoingEvent[];
  invalid: Array<{ id: string; error: string }>;
  /** The JSON array of envelopes, not one raw payload. */
  batch: boolean;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const TEXT_TYPE = /^(?:text\/|application\/(?:[\w.+-]+\+)?xml\s*(?:;|$)|application\/x-www-form-urlencoded)/i;
const decoder = new TextDecoder('utf-8', { fatal: true });

export function singleBody(event: OutgoingEvent): RequestBody {
  return {
    id: event.id,
    body: event.payload,
    contentType: event.contentType,
    events: [event],
    invalid: [],
    batch: false,
  };
}

/**
 * The batch body. An event whose JSON payload does not parse is left out and reported in `invalid`:
 * the array must stay valid JSON, and that event would break every batch it joined.
 */
export function batchBody(events: readonly OutgoingEvent[]): RequestBody {
  const parts: string[] = [];
  const sent: OutgoingEvent[] = [];
  const invalid: RequestBody['invalid'] = [];
  for (const event of events) {
    const data = encodeData(event);
    if ('error' in data) {
      invalid.push({ id: event.id, error: data.error });
      continue;
    }
    const head = JSON.stringify({
      id: event.id,
      type: event.type,
      source: event.source,
      timestamp: new Date(event.receivedAt).toISOString(),
      contentType: event.contentType,
    });
    parts.push(`${head.slice(0, -1)},${data.member}}`);
    sent.push(event);
  }
  return {
    id: batchId(sent.map((e) => e.id)),
    body: `[${parts.join(',')}]`,
    contentType: 'application/json',
    events: sent,
    invalid,
    batch: true,
  };
}

/**
 * The same events give the same id, so a receiver that dedupes on `webhook-id` drops a resent batch;
 * each envelope carries its event's own id for receivers that dedupe per event.
 */
export function batchId(ids: readonly string[]): string {
  return `batch_${createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 32)}`;
}

function encodeData(event: OutgoingEvent): { member: string } | { error: string } {
  const { payload, contentType } = event;
  if (JSON_TYPE.test(contentType)) {
    const text = typeof payload === 'string' ? payload : utf8(payload);
    if (text === undefined) return { error: 'its JSON payload is not UTF-8' };
    try {
      JSON.parse(text);
    } catch (err) {
      return { error: `its JSON payload does not parse: ${(err as Error).message}` };
    }
    // The raw text, not JSON.stringify(JSON.parse(text)): re-serialising would round large integers.
    return { member: `"data":${text.trim()}` };
  }
  if (typeof payload === 'string') return { member: `"data":${JSON.stringify(payload)}` };
  const text = TEXT_TYPE.test(contentType) ? utf8(payload) : undefined;
  if (text !== undefined) return { member: `"data":${JSON.stringify(text)}` };
  return { member: `"dataBase64":${JSON.stringify(Buffer.from(payload).toString('base64'))}` };
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
