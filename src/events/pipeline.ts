/**
 * The one entry every source uses (webhooks, pollers, brokers): dedupe → match subscriptions →
 * append the event and its deliveries in one transaction → the caller acknowledges (2xx, broker ack,
 * cursor move) only after `accept` resolved, so what was acknowledged is on disk (docs/events.md
 * "Durability").
 *
 * Deduplication (Q25, Q47; docs/webhooks-inbound.md): a Bloom filter of `source:externalId` keys sits
 * in front of the unique index. "Definitely new" skips the lookup; "maybe" looks the key up; either
 * way the append is the authority (insert … on conflict do nothing), so a key another node stored,
 * or one the filter missed while it was being rebuilt, still ends as a duplicate, never as a second
 * event. The filter is rebuilt from the store's keys on start, in pages, before sources accept.
 */
import { isJunctionError, JunctionError } from '../core/errors.ts';
import { throttledWarn } from '../core/logger.ts';
import type { Services } from '../core/services.ts';
import type { Store } from '../store/index.ts';
import { BloomFilter } from './bloom.ts';
import { EventInvalid, EventNotStored } from './errors.ts';
import { type EventMetrics, eventMetrics } from './metrics.ts';
import { type CompiledSubscription, matchSubscriptions, parsePayload } from './subscriptions.ts';

export interface IncomingEvent {
  source: string;
  type: string;
  /** The provider's event or delivery id: the dedupe key. Events without one are never deduplicated. */
  externalId?: string;
  payload: Uint8Array | string;
  /** Header fields kept with the event (never credentials). */
  headers?: Record<string, string>;
}

export interface EventIntake {
  /**
   * Resolves once the event (or the fact that it is a duplicate) is committed; acknowledge then.
   * Rejects with `event_not_stored` (503, try again) or `event_invalid` (400, do not).
   */
  accept(e: IncomingEvent): Promise<{ id: string; duplicate: boolean }>;
}

export interface DedupeSettings {
  expectedIds: number;
  falsePositiveRate: number;
}

export interface PipelineOptions {
  store: Pick<Store, 'events'>;
  /** `ids` is read on every append: the gateway swaps the generator if its node id lease was lost. */
  services: Pick<Services, 'ids' | 'logger' | 'metrics'>;
  dedupe: DedupeSettings;
  subscriptions: readonly CompiledSubscription[];
  /** Keys read per query while rebuilding the filter. */
  rebuildBatch?: number;
}

export class EventPipeline implements EventIntake {
  readonly #store: Pick<Store, 'events'>;
  readonly #services: PipelineOptions['services'];
  readonly #metrics: EventMetrics;
  readonly #warn: (err: unknown, msg: string) => void;
  readonly #batch: number;
  #subscriptions: readonly CompiledSubscription[];
  #dedupe: DedupeSettings;
  #bloom: BloomFilter;
  /** A filter being rebuilt (start, resize): keys accepted meanwhile go into it too. */
  #next: BloomFilter | undefined;
  readonly #listeners: (() => void)[] = [];

  constructor(options: PipelineOptions) {
    this.#store = options.store;
    this.#services = options.services;
    this.#subscriptions = options.subscriptions;
    this.#dedupe = { ...options.dedupe };
    this.#batch = options.rebuildBatch ?? 1000;
    this.#bloom = new BloomFilter(bloomOptions(options.dedupe));
    this.#metrics = eventMetrics(options.services.metrics.registry);
    this.#metrics.bloom = () => this.#bloom.stats();
    this.#warn = throttledWarn(options.services.logger);
  }

  /**
   * Fills a fresh filter from every key in the store, page by page, then puts it in place.
   * Resolves to the number of keys read.
   */
  async rebuild(): Promise<number> {
    const next = new BloomFilter(bloomOptions(this.#dedupe));
    this.#next = next;
    let n = 0;
    try {
      for await (const batch of this.#store.events.dedupeKeys(this.#batch)) {
        for (const k of batch) next.add(keyOf(k.source, k.externalId));
        n += batch.length;
      }
    } finally {
      if (this.#next === next) this.#next = undefined;
    }
    this.#bloom = next;
    return n;
  }

  /**
   * New subscriptions and dedupe sizing (config reload); a new size rebuilds the filter. Resolves
   * true when it did.
   */
  async update(subscriptions: readonly CompiledSubscription[], dedupe: DedupeSettings): Promise<boolean> {
    this.#subscriptions = subscriptions;
    if (
      dedupe.expectedIds === this.#dedupe.expectedIds &&
      dedupe.falsePositiveRate === this.#dedupe.falsePositiveRate
    )
      return false;
    this.#dedupe = { ...dedupe };
    await this.rebuild();
    return true;
  }

  /** Called after each new event is stored: the delivery worker wakes instead of waiting to poll. */
  onStored(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Tells the `onStored` listeners that events were stored by someone else (an outbound send). */
  notifyStored(): void {
    for (const l of this.#listeners) l();
  }

  async accept(e: IncomingEvent): Promise<{ id: string; duplicate: boolean }> {
    try {
      const result = await this.#accept(e);
      this.#metrics.received.labels(e.source, result.duplicate ? 'duplicate' : 'stored').inc();
      if (!result.duplicate) this.notifyStored();
      return result;
    } catch (err) {
      this.#metrics.received.labels(e.source, 'rejected').inc();
      if (isJunctionError(err) && (err.code === EventInvalid.code || err.code === EventNotStored.code))
        throw err;
      if (isJunctionError(err) && err.code === 'store_record_invalid')
        throw new JunctionError(EventInvalid, err.message, { cause: err });
      this.#warn(err, 'events: an event could not be stored; its sender will send it again');
      throw new JunctionError(EventNotStored, 'the event could not be stored; send it again', {
        cause: err,
        headers: { 'retry-after': '5' },
      });
    }
  }

  async #accept(e: IncomingEvent): Promise<{ id: string; duplicate: boolean }> {
    const key = e.externalId === undefined ? undefined : keyOf(e.source, e.externalId);
    if (key !== undefined) {
      if (!this.#bloom.mightContain(key)) {
        this.#metrics.lookupsSaved.labels(e.source).inc();
      } else {
        const existing = await this.#store.events.idOf(e.source, e.externalId!);
        if (existing !== undefined) return { id: existing, duplicate: true };
        this.#bloom.reportFalsePositive();
      }
    }
    const subscriptions = await matchSubscriptions(
      this.#subscriptions,
      {
        source: e.source,
        type: e.type,
        payload: () => parsePayload(e.payload),
      },
      (subscription, err) => {
        this.#metrics.filterErrors.labels(subscription).inc();
        this.#warn(err, `events: the filter of subscription ${subscription} failed; counted as no match`);
      },
    );
    const r = await this.#store.events.append(
      { source: e.source, type: e.type, externalId: e.externalId, payload: e.payload, headers: e.headers },
      subscriptions,
      this.#services.ids,
    );
    if (key !== undefined) {
      this.#bloom.add(key);
      this.#next?.add(key);
    }
    return r.duplicate ? { id: r.existingId, duplicate: true } : { id: r.event.id, duplicate: false };
  }
}

/** Source names cannot hold `:` (config names are `[A-Za-z0-9_-]`), so the key is unambiguous. */
function keyOf(source: string, externalId: string): string {
  return `${source}:${externalId}`;
}

function bloomOptions(d: DedupeSettings) {
  return { expectedItems: d.expectedIds, falsePositiveRate: d.falsePositiveRate };
}
