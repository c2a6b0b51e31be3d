/**
 * The delivery worker's destinations: built once per subscription config and kept while that config
 * runs, so connections and pools are reused across deliveries. A reload that changes a
 * subscription's `destination:` retires its old destination (in-flight attempts finish, then it
 * closes) and builds the new one on the next delivery; a removed subscription's is retired too.
 */
import type { SubscriptionConfig } from '../config/events-schema.ts';
import type { Logger } from '../core/logger.ts';
import {
  type Batcher,
  createBatcher,
  createDestination,
  type DeliveryOutcome,
  type Destination,
  type DestinationOptions,
  type OutgoingEvent,
} from './destinations/index.ts';
import type { RetrySchedule } from './retry-schedule.ts';

export interface Target {
  /** One attempt for one event: alone (stream), or with others in a batch (`destination.batch`). */
  send(event: OutgoingEvent): Promise<DeliveryOutcome>;
}

/** A target found at run time, with the retry schedule its deliveries follow. */
export interface ResolvedTarget extends Target {
  /** Exponential backoff, as a subscription's; unused when `schedule` is given. */
  retry: SubscriptionConfig['retry'];
  /** An explicit schedule (outbound webhook endpoints): one delay per retry, with jitter. */
  schedule?: RetrySchedule;
  /**
   * Asked by the worker before `send`, with the delivery: undefined to go (a limit may now be held
   * for this delivery until `send` ends, so the worker then sends exactly once), or a `TargetWait`
   * to hold it (rate or concurrency limit, open circuit breaker; then `send` is not called).
   */
  admit?(delivery: ResolvingDelivery): Promise<TargetWait | undefined>;
  /**
   * What became of the delivery after the attempt (the store write succeeded): the resolver's
   * operational events (e.g. `message.attempt.exhausted` on `dead`). Must not throw.
   */
  settled?(result: 'delivered' | 'retried' | 'dead', outcome: DeliveryOutcome): void | Promise<void>;
}

/**
 * "Not now": the target is held (a rate or concurrency limit, an open circuit breaker). The delivery
 * goes back to the queue due at `wait` (epoch ms) without an attempt counted; with `backlogUntil`,
 * every other delivery of the subscription due by now is pushed to then in one statement, so the
 * worker does not claim them one by one only to give them back — spread over the time the target
 * needs for them when `backlogSpacingMs` says how long it takes per delivery.
 */
export interface TargetWait {
  wait: number;
  backlogUntil?: number;
  backlogSpacingMs?: number;
}

/** The delivery a resolver is asked about. */
export interface ResolvingDelivery {
  id: string;
  /** Attempts so far, the one about to be made included (1 on the first). */
  attempts: number;
}

/**
 * Deliveries whose subscription is not in `events.subscriptions` but names a record the store holds:
 * outbound webhook endpoints, `ep:<endpoint id>` (src/webhooks/delivery.ts). The worker asks the
 * resolver for each such delivery instead of treating the subscription as unknown.
 */
export interface TargetResolver {
  /** Whether the subscription name is this resolver's (e.g. the `ep:` prefix). */
  handles(subscription: string): boolean;
  /**
   * The target; `'paused'` while it must not be sent to (disabled, soft-deleted: the delivery waits);
   * undefined when it is gone for good (the delivery is dead-lettered).
   */
  resolve(subscription: string, signal: AbortSignal): Promise<ResolvedTarget | 'paused' | undefined>;
  /**
   * Whether the resolver may have work at all (any live endpoint); without it, always. A worker with
   * no subscriptions asks before each claim, so an idle node does not query the queue for nothing.
   */
  active?(): Promise<boolean>;
}

interface Entry extends Target {
  key: string;
  destination: Destination;
  batcher: Batcher | undefined;
}

export interface Targets {
  /** The target of this subscription's current config; throws `config_invalid` if it cannot be built. */
  get(name: string, subscription: SubscriptionConfig): Target;
  /** Retires the targets of subscriptions that are gone or whose destination changed. */
  prune(subscriptions: Readonly<Record<string, SubscriptionConfig>>): void;
  /** Sends what batches hold, closes every destination; resolves once all are closed. */
  close(): Promise<void>;
}

export function createTargets(
  signal: AbortSignal,
  logger: Logger,
  options: DestinationOptions = {},
): Targets {
  const entries = new Map<string, Entry>();
  const retiring = new Set<Promise<void>>();

  function retire(name: string, entry: Entry): void {
    entries.delete(name);
    const closing = (async () => {
      await entry.batcher?.close();
      await entry.destination.close();
    })().catch((err: unknown) => logger.warn({ err, subscription: name }, 'closing a destination failed'));
    retiring.add(closing);
    void closing.finally(() => retiring.delete(closing));
  }

  return {
    get(name, subscription) {
      const key = JSON.stringify(subscription.destination);
      const current = entries.get(name);
      if (current?.key === key) return current;
      if (current) retire(name, current);
      const destination = createDestination(subscription.destination, options);
      const batch = subscription.destination.batch;
      const batcher = batch ? createBatcher(destination, { ...batch, signal }) : undefined;
      const entry: Entry = {
        key,
        destination,
        batcher,
        send: batcher ? (event) => batcher.add(event) : (event) => destination.deliver([event], signal),
      };
      entries.set(name, entry);
      return entry;
    },
    prune(subscriptions) {
      for (const [name, entry] of entries) {
        const sub = Object.hasOwn(subscriptions, name) ? subscriptions[name] : undefined;
        if (sub === undefined || JSON.stringify(sub.destination) !== entry.key) retire(name, entry);
      }
    },
    async close() {
      for (const [name, entry] of [...entries]) retire(name, entry);
      while (retiring.size > 0) await Promise.all(retiring);
    },
  };
}
