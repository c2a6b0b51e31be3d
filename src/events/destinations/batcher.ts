/**
 * Batching (Q31): groups events bound for one destination and delivers them together once `maxEvents`
 * are waiting or the first of them has waited `maxWaitMs`, whichever comes first — the rule of Kafka's
 * producer (`batch.size` / `linger.ms`) and Vector's sinks (`max_events` / `timeout_secs`). Each event's
 * promise settles with its own outcome, so the worker acks, retries or dead-letters queue items one by
 * one as in stream mode: an event the batch's `failedIds` does not name was delivered.
 *
 * Stream mode (no `batch:` in the config) needs none of this: the worker calls `deliver([event])`.
 */
import { type Clock, systemClock } from '../../resilience/index.ts';
import { DestinationAborted, DestinationUnreachable } from './errors.ts';
import { outcomeOf, retry } from './outcome.ts';
import type { BatchConfig } from './schema.ts';
import type { DeliveryOutcome, Destination, OutgoingEvent } from './types.ts';

export interface BatcherOptions extends BatchConfig {
  clock?: Clock;
  /** Handed to every delivery; aborting it ends in-flight batches with `retry`. */
  signal?: AbortSignal;
}

export interface Batcher {
  /** Queues the event for the next batch; settles with its outcome once that batch was delivered. */
  add(event: OutgoingEvent): Promise<DeliveryOutcome>;
  /** Sends what is waiting now, and waits for every batch in flight. */
  flush(): Promise<void>;
  /** Flushes; later `add` calls settle at once with `retry` (`destination_aborted`). Idempotent. */
  close(): Promise<void>;
  /** Events waiting for their batch to go out. */
  readonly waiting: number;
}

interface Waiting {
  event: OutgoingEvent;
  resolve: (outcome: DeliveryOutcome) => void;
}

/**
 * @example
 * const batcher = createBatcher(destination, { maxEvents: 100, maxWaitMs: 1_000 });
 * const outcome = await batcher.add(event); // delivered with up to 99 others, within about 1 s
 */
export function createBatcher(destination: Pick<Destination, 'deliver'>, options: BatcherOptions): Batcher {
  const { maxEvents, maxWaitMs } = options;
  if (!Number.isInteger(maxEvents) || maxEvents < 1)
    throw new RangeError(`maxEvents must be at least 1, got ${maxEvents}`);
  if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0)
    throw new RangeError(`maxWaitMs must be 0 or more, got ${maxWaitMs}`);
  const clock = options.clock ?? systemClock;
  let batch: Waiting[] = [];
  let timer: unknown;
  let closed = false;
  const inFlight = new Set<Promise<void>>();

  function send(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const taken = batch;
    batch = [];
    const events = taken.map((w) => w.event);
    const delivery = destination
      .deliver(events, options.signal)
      .catch((err: unknown) => ({
        ...retry(DestinationUnreachable, err instanceof Error ? err.message : String(err)),
        ms: 0,
      }))
      .then((outcome) => {
        for (const w of taken) w.resolve(outcomeOf(w.event.id, outcome));
      });
    inFlight.add(delivery);
    void delivery.finally(() => inFlight.delete(delivery));
  }

  async function flush(): Promise<void> {
    send();
    while (inFlight.size > 0) await Promise.all(inFlight);
  }

  return {
    add(event) {
      if (closed) return Promise.resolve({ ...retry(DestinationAborted, 'the batcher is closed'), ms: 0 });
      return new Promise((resolve) => {
        batch.push({ event, resolve });
        if (batch.length >= maxEvents) send();
        else if (batch.length === 1) timer = clock.setTimeout(send, maxWaitMs);
      });
    },
    flush,
    close() {
      closed = true;
      return flush();
    },
    get waiting() {
      return batch.length;
    },
  };
}
