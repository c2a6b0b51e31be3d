/**
 * The delivery worker (issue #6; Q24, Q31, Q40): works off the store's delivery queue. Each node runs
 * one; several nodes share the queue through leases (src/store/deliveries.ts), so a delivery is
 * worked by one node at a time and, if that node dies, by another once the lease expires.
 *
 * A loop claims as many due deliveries as it has free slots (`events.worker.concurrency`), leased for
 * `leaseMs`, looks up their events and hands each to its subscription's destination. What follows
 * the attempt (docs/events.md "Delivery and dead letters"):
 *
 * | outcome                          | then                                                           |
 * |----------------------------------|----------------------------------------------------------------|
 * | delivered                        | complete                                                       |
 * | retry, attempts < maxAttempts    | pending again after backoff (full jitter) or Retry-After, the longer |
 * | retry, attempts = maxAttempts    | dead letter with the last error                                |
 * | reject (4xx, malformed)          | dead letter at once                                            |
 * | reject `destination_gone` (410)  | dead letter, and a warning to disable the subscription         |
 *
 * A resolved target (an outbound webhook endpoint) may carry its own `schedule` (retry-schedule.ts
 * `scheduledStep`: listed delays with jitter, a bounded Retry-After, ≥ slowDownMs after 429, 502, 504
 * and timeouts) instead of the backoff, and handles its own 410 (its resolver disables the endpoint).
 *
 * A poison event never blocks the queue: its failures push only its own `next_attempt_at` back, and
 * the claim takes whatever is due first. Slots free one by one, so one slow endpoint holds at most the
 * slots of its own deliveries.
 *
 * Disabled subscriptions: the claim cannot filter by subscription without scanning their pending rows
 * on every claim (they stay due), so the worker claims them like any other and gives them back
 * (`postpone`, no attempt counted) due again in DISABLED_RECHECK_MS. Enabling the subscription
 * therefore takes effect within that time. A delivery of a subscription the config does not have is
 * retried every DISABLED_RECHECK_MS, counting attempts, and dead-lettered (`subscription_unknown`)
 * after UNKNOWN_MAX_ATTEMPTS: during a rolling config change nodes briefly disagree about which
 * subscriptions exist, and a node that has not seen the new one yet must not dead-letter its work. A
 * config without subscriptions claims nothing at all, unless the worker has a resolver (a gateway's
 * worker has the outbound webhook endpoints', whose deliveries need no subscription).
 */
import type { EventsConfig, SubscriptionConfig } from '../config/events-schema.ts';
import { throttledWarn } from '../core/logger.ts';
import type { Services } from '../core/services.ts';
import { type Delivery, MAX_SPACING_MS, type Store, type StoredEvent } from '../store/index.ts';
import { SubscriptionUnknown } from './delivery-errors.ts';
import {
  type DeliveryOutcome,
  DestinationAborted,
  DestinationGone,
  type DestinationOptions,
  type OutgoingEvent,
} from './destinations/index.ts';
import { nextStep, type RetrySchedule, scheduledStep } from './retry-schedule.ts';
import { type DeliveryResult, deliveryMetrics } from './worker-metrics.ts';
import { createTargets, type TargetResolver, type TargetWait } from './worker-targets.ts';

export interface DeliveryWorkerOptions {
  /** The running `events:` config, read on every claim so a reload takes effect at once. */
  config: () => EventsConfig;
  store: Store;
  services: Services;
  /** Lease owner: unique per worker, e.g. `<nodeId>:<uuid>`. */
  owner: string;
  /** Jitter source (tests pin it). */
  random?: () => number;
  destinationOptions?: DestinationOptions;
  /** How long a disabled or unknown subscription's delivery waits to be looked at again (tests). */
  recheckMs?: number;
  /** Targets of subscriptions the config does not list (outbound webhook endpoints, `ep:<id>`). */
  resolver?: TargetResolver;
}

export interface DeliveryWorker {
  /** Looks for due deliveries now instead of after `idlePollMs` (new events were stored). */
  wake(): void;
  /** Stops claiming, aborts attempts in flight and gives them back, closes the destinations. */
  close(): Promise<void>;
}

/** How long a disabled subscription's claimed delivery waits before it is looked at again. */
export const DISABLED_RECHECK_MS = 30_000;
/** A subscription missing from the config this many times (about 10 minutes) is really gone. */
export const UNKNOWN_MAX_ATTEMPTS = 20;
/** Subscriptions of outbound webhook endpoints (`ep:<id>`), resolved from the store, not the config. */
const RESOLVED_PREFIX = 'ep:';

/**
 * @example
 * const worker = startDeliveryWorker({
 *   config: () => loaded.config.events, store, services, owner: `${nodeId}:${randomUUID()}`,
 * });
 * hub.onStored(() => worker.wake());
 * await worker.close();
 */
export function startDeliveryWorker(options: DeliveryWorkerOptions): DeliveryWorker {
  const { store, services, owner } = options;
  const random = options.random ?? Math.random;
  const recheckMs = options.recheckMs ?? DISABLED_RECHECK_MS;
  const logger = services.logger.child({ component: 'delivery-worker' });
  const warn = throttledWarn(logger);
  const warnUnknown = throttledWarn(logger, 60_000);
  const metrics = deliveryMetrics(services.metrics.registry);
  metrics.stores.add(store);
  const abort = new AbortController();
  const targets = createTargets(abort.signal, logger, options.destinationOptions);
  /** Deliveries being worked, by id: their leases are extended while they run. */
  const inFlight = new Map<string, Promise<void>>();
  let closed = false;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  /** New events were stored since the last claim (an outside wake): claim without asking `active`. */
  let stored = false;
  let lastConfig: EventsConfig | undefined;
  /** The earliest time a target asked to be tried again (TargetWait): the idle pause ends then. */
  let soonest = Number.POSITIVE_INFINITY;

  /** Resolves after `ms`, or sooner on wake(), a freed slot or close(). */
  function pause(ms: number): Promise<void> {
    if (woken || closed) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });
  }

  function wake(): void {
    if (wakeUp) wakeUp();
    else woken = true;
  }

  /**
   * The idle pause: `idlePollMs`, or less when a held target's delivery falls due sooner (a rate
   * slot 100 ms away is claimed then, not up to `idlePollMs` late).
   */
  function idleMs(idlePollMs: number): number {
    const t = Date.now();
    if (soonest > t + idlePollMs) return idlePollMs;
    const ms = Math.max(1, soonest - t);
    soonest = Number.POSITIVE_INFINITY;
    return ms;
  }

  /** Whether the resolver has work it could claim (a gateway with no outbound endpoints has none). */
  async function resolverActive(): Promise<boolean> {
    const resolver = options.resolver;
    if (resolver === undefined) return false;
    if (resolver.active === undefined) return true;
    try {
      return await resolver.active();
    } catch (err) {
      warn(err, 'delivery worker: asking for outbound endpoints failed');
      return true;
    }
  }

  async function loop(): Promise<void> {
    while (!closed) {
      const config = options.config();
      if (config !== lastConfig) {
        targets.prune(config.subscriptions);
        lastConfig = config;
      }
      const { concurrency, leaseMs, idlePollMs } = config.worker;
      const free = concurrency - inFlight.size;
      // The resolver's "no live endpoint" answer is cached; an outbound send says otherwise at once.
      const idle = Object.keys(config.subscriptions).length === 0 && !stored && !(await resolverActive());
      if (free <= 0 || idle) {
        await pause(idlePollMs);
        continue;
      }
      stored = false;
      let claimed: Delivery[];
      try {
        claimed = await store.deliveries.claim(owner, free, leaseMs);
      } catch (err) {
        if (closed) return;
        warn(err, 'delivery worker: claiming from the store failed');
        await pause(idlePollMs);
        continue;
      }
      if (claimed.length > 0) await dispatch(claimed, config);
      // A full claim means more may be due: claim again as soon as a slot is free.
      if (claimed.length < free) await pause(idleMs(idlePollMs));
    }
  }

  async function dispatch(claimed: Delivery[], config: EventsConfig): Promise<void> {
    let events: Map<string, StoredEvent>;
    try {
      const found = await store.events.getMany([...new Set(claimed.map((d) => d.eventId))]);
      events = new Map(found.map((e) => [e.id, e]));
    } catch (err) {
      // The leases expire and the deliveries are claimed again; nothing is lost.
      warn(err, 'delivery worker: reading claimed events failed');
      return;
    }
    for (const d of claimed) {
      const task = work(d, events.get(d.eventId), config)
        .catch((err: unknown) => logger.error({ err, delivery: d.id }, 'delivery failed unexpectedly'))
        .finally(() => {
          inFlight.delete(d.id);
          wake();
        });
      inFlight.set(d.id, task);
    }
  }

  async function work(d: Delivery, event: StoredEvent | undefined, config: EventsConfig): Promise<void> {
    const sub = Object.hasOwn(config.subscriptions, d.subscription)
      ? config.subscriptions[d.subscription]
      : undefined;
    if (sub === undefined && options.resolver?.handles(d.subscription)) {
      await workResolved(d, event, options.resolver);
      return;
    }
    if (sub === undefined && options.resolver === undefined && d.subscription.startsWith(RESOLVED_PREFIX)) {
      // An outbound webhook endpoint's delivery on a worker started without the resolver: not this
      // worker's to judge, so it waits (no attempt counted) for one that has it.
      await settle(d, 'postponed', store.deliveries.postpone(d.id, owner, Date.now() + recheckMs));
      return;
    }
    if (sub === undefined) {
      const error = `${SubscriptionUnknown.code}: subscription ${d.subscription} is not in the config`;
      if (d.attempts >= UNKNOWN_MAX_ATTEMPTS) {
        const write = store.deliveries.deadLetter(d.id, owner, error, null);
        await settle(d, 'dead', write, SubscriptionUnknown.code);
      } else {
        warnUnknown(
          undefined,
          `delivery worker: subscription ${d.subscription} is not in this node's config`,
        );
        await settle(d, 'retried', store.deliveries.retry(d.id, owner, Date.now() + recheckMs, error, null));
      }
      return;
    }
    if (!sub.enabled) {
      await settle(d, 'postponed', store.deliveries.postpone(d.id, owner, Date.now() + recheckMs));
      return;
    }
    // The event was deleted (retention) after the claim; its deliveries went with it.
    if (event === undefined) return;
    let outcome: DeliveryOutcome;
    try {
      outcome = await targets.get(d.subscription, sub).send(outgoing(event));
    } catch (err) {
      // The destination cannot be built (a config problem, not the event's): try again later.
      warn(err, `delivery worker: subscription ${d.subscription} has no usable destination`);
      outcome = { kind: 'retry', code: 'config_invalid', error: (err as Error).message, ms: 0 };
    }
    if (outcome.ms > 0) metrics.duration.labels({ subscription: d.subscription }).observe(outcome.ms / 1000);
    await finish(d, sub.retry, outcome);
  }

  /** A delivery to a target the resolver finds at run time (an outbound webhook endpoint). */
  async function workResolved(d: Delivery, event: StoredEvent | undefined, resolver: TargetResolver) {
    // The event was deleted (retention) after the claim; its deliveries went with it.
    if (event === undefined) return;
    let target: Awaited<ReturnType<TargetResolver['resolve']>>;
    let held: TargetWait | undefined;
    try {
      target = await resolver.resolve(d.subscription, abort.signal);
      if (target !== undefined && target !== 'paused')
        held = await target.admit?.({ id: d.id, attempts: d.attempts });
    } catch (err) {
      warn(err, `delivery worker: cannot resolve ${d.subscription}`);
      target = 'paused';
    }
    if (held !== undefined) {
      // Held (rate, concurrency, breaker): back to the queue unsent, the slot freed for other work.
      const now = Date.now();
      const due = Math.max(now, Math.ceil(held.wait));
      soonest = Math.min(soonest, due);
      await settle(d, 'postponed', store.deliveries.postpone(d.id, owner, due, now));
      if (held.backlogUntil !== undefined) {
        try {
          const spacing = held.backlogSpacingMs && Math.min(held.backlogSpacingMs, MAX_SPACING_MS);
          await store.deliveries.postponeDue(d.subscription, Math.ceil(held.backlogUntil), now, spacing);
        } catch (err) {
          warn(err, "delivery worker: postponing a held endpoint's backlog failed");
        }
      }
      return;
    }
    if (target === 'paused') {
      await settle(d, 'postponed', store.deliveries.postpone(d.id, owner, Date.now() + recheckMs));
      return;
    }
    if (target === undefined) {
      const error = `${SubscriptionUnknown.code}: ${d.subscription} no longer exists`;
      await settle(
        d,
        'dead',
        store.deliveries.deadLetter(d.id, owner, error, null),
        SubscriptionUnknown.code,
      );
      return;
    }
    const outcome = await target.send(outgoing(event));
    if (outcome.ms > 0) metrics.duration.labels({ subscription: labelOf(d) }).observe(outcome.ms / 1000);
    const result = await finish(d, target.retry, outcome, target.schedule);
    if (result !== undefined && target.settled !== undefined) {
      try {
        await target.settled(result, outcome);
      } catch (err) {
        warn(err, `delivery worker: the resolver failed after ${d.subscription}'s attempt`);
      }
    }
  }

  async function finish(
    d: Delivery,
    retry: SubscriptionConfig['retry'],
    outcome: DeliveryOutcome,
    schedule?: RetrySchedule,
  ): Promise<'delivered' | 'retried' | 'dead' | undefined> {
    const now = Date.now();
    if (outcome.kind === 'delivered') {
      return (await settle(d, 'delivered', store.deliveries.complete(d.id, owner, now)))
        ? 'delivered'
        : undefined;
    }
    const error = `${outcome.code}: ${outcome.error}`;
    const status = outcome.status ?? null;
    if (outcome.kind === 'retry' && outcome.code === DestinationAborted.code && closed) {
      // Shutting down: not the destination's failure. Due again now, for another node.
      await settle(d, 'postponed', store.deliveries.postpone(d.id, owner, now));
      return undefined;
    }
    const step =
      outcome.kind === 'reject'
        ? ({ kind: 'dead' } as const)
        : schedule
          ? scheduledStep(d.attempts, schedule, outcome, random)
          : nextStep(d.attempts, retry, outcome.retryAfterMs, random);
    if (step.kind === 'retry') {
      const write = store.deliveries.retry(d.id, owner, now + step.delayMs, error, status, now);
      return (await settle(d, 'retried', write)) ? 'retried' : undefined;
    }
    // A resolved target handles its own 410 (an outbound endpoint is disabled by its resolver).
    if (outcome.code === DestinationGone.code && !options.resolver?.handles(d.subscription)) {
      logger.warn(
        { subscription: d.subscription, delivery: d.id, error },
        'the destination is gone (HTTP 410): disable this subscription (enabled: false) or fix its URL',
      );
    }
    const write = store.deliveries.deadLetter(d.id, owner, error, status, now);
    return (await settle(d, 'dead', write, outcome.code)) ? 'dead' : undefined;
  }

  /** Resolved subscriptions are one label: one series per customer endpoint would not scale. */
  function labelOf(d: Delivery): string {
    return options.resolver?.handles(d.subscription) ? 'resolved' : d.subscription;
  }

  /**
   * Counts what became of the delivery; a write the lease no longer allowed is `lease_lost` (false).
   */
  async function settle(
    d: Delivery,
    result: DeliveryResult,
    write: Promise<boolean>,
    code?: string,
  ): Promise<boolean> {
    const labels = { subscription: labelOf(d) };
    if (!(await write)) {
      logger.info({ delivery: d.id }, 'the lease expired and another worker took the delivery');
      metrics.deliveries.labels({ ...labels, outcome: 'lease_lost' }).inc();
      return false;
    }
    metrics.deliveries.labels({ ...labels, outcome: result }).inc();
    if (result === 'dead') metrics.dead.labels({ ...labels, code: code ?? 'unknown' }).inc();
    return true;
  }

  /** Keeps the leases of long attempts (a slow endpoint, a batch waiting to fill) from expiring. */
  const keeper = setInterval(
    () => {
      const { leaseMs } = (lastConfig ?? options.config()).worker;
      for (const id of inFlight.keys()) {
        store.deliveries
          .extend(id, owner, leaseMs)
          .catch((err: unknown) => warn(err, 'extending a lease failed'));
      }
    },
    Math.max(1_000, Math.floor(options.config().worker.leaseMs / 3)),
  );
  keeper.unref();

  const running = loop().catch((err: unknown) => logger.error({ err }, 'delivery worker stopped'));

  return {
    wake() {
      stored = true;
      wake();
    },
    async close() {
      if (closed) return;
      closed = true;
      wake();
      await running;
      abort.abort();
      // Closing the targets sends what batches still hold, with the aborted signal, so it ends at once.
      const closing = targets.close();
      while (inFlight.size > 0) await Promise.all(inFlight.values());
      clearInterval(keeper);
      await closing;
      metrics.stores.delete(store);
    },
  };
}

function outgoing(event: StoredEvent): OutgoingEvent {
  return {
    id: event.id,
    source: event.source,
    type: event.type,
    receivedAt: event.receivedAt,
    payload: event.payload,
    contentType: event.headers['content-type'] ?? 'application/json',
  };
}
