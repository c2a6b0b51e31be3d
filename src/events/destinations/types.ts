/**
 * What a destination is handed and what it answers. A destination delivers; it never decides when to
 * try again — it classifies the outcome, and the delivery worker retries (with backoff), dead-letters
 * or completes the queue item accordingly (docs/events-delivery.md "Outcomes").
 */

/** One stored event on its way out. The payload is passed on byte for byte. */
export interface OutgoingEvent {
  /** Stable event id (`evt_…`): the receiver's and the broker's deduplication key. */
  id: string;
  /** Where the event came from, e.g. the webhook source's name (`stripe`). */
  source: string;
  /** Event type, e.g. `order.created`. */
  type: string;
  /** When Junction accepted the event, epoch milliseconds. */
  receivedAt: number;
  payload: Uint8Array | string;
  contentType: string;
}

interface Timed {
  /** Time the attempt took, in milliseconds; failures carry it too, for attempt logs. */
  ms: number;
  /**
   * The answer's header fields and the start of its body, when the destination was asked to keep them
   * (HTTP, `captureResponseBytes`: the outbound webhook attempt log). Absent when there was no answer.
   */
  response?: CapturedResponse;
}

export interface CapturedResponse {
  /** Header field names in lowercase; repeated fields joined with `, ` (RFC 9110 §5.3). */
  headers: Record<string, string>;
  /** The first `captureResponseBytes` of the body as UTF-8 text (cut bodies end with `…`). */
  body: string;
}

/** The attempt reached the destination and it took the events. */
export interface Delivered extends Timed {
  kind: 'delivered';
  /** HTTP status, for HTTP destinations. */
  status?: number;
}

/** Transient failure: the same events may succeed later (5xx, 429, timeouts, connection errors). */
export interface Retry extends Timed {
  kind: 'retry';
  /** Stable code from ./errors.ts (docs/errors.md), for attempt logs and metrics. */
  code: string;
  error: string;
  status?: number;
  /** The destination asked for this pause (`Retry-After`), already capped; wait at least this long. */
  retryAfterMs?: number;
  /**
   * For a batch: the ids of the events that were not delivered; the others were (a broker took them).
   * Absent: the whole batch failed.
   */
  failedIds?: string[];
}

/** Permanent failure: sending the same events again cannot succeed; dead-letter them at once. */
export interface Reject extends Timed {
  kind: 'reject';
  /**
   * Stable code from ./errors.ts. `destination_gone` (HTTP 410) means the endpoint is retired: the
   * caller may disable the subscription (Standard Webhooks, "Disabling endpoints").
   */
  code: string;
  error: string;
  status?: number;
  /** As for `Retry`: the events of a batch that were refused; the others were delivered. */
  failedIds?: string[];
}

export type DeliveryOutcome = Delivered | Retry | Reject;

/**
 * A configured place events go to: a customer's HTTP endpoint or a broker. `deliver` never throws: every
 * failure is a classified outcome. An aborted `signal` ends the attempt with `retry` (the events were not
 * confirmed delivered). Events of one call go out together (one HTTP request, or one broker round trip).
 */
export interface Destination {
  readonly kind: 'http' | 'nats' | 'rabbitmq';
  deliver(events: readonly OutgoingEvent[], signal?: AbortSignal): Promise<DeliveryOutcome>;
  /** Lets in-flight attempts finish, then frees sockets and connections. Idempotent. */
  close(): Promise<void>;
}
