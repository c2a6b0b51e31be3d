/**
 * The delivery worker as one of the event hub's components (src/events/hub.ts): started with the
 * hub, handed each reloaded `events:` config, closed before the store. Its shape is the hub's
 * `HubComponentStarter`.
 */
import { randomUUID } from 'node:crypto';
import type { EventsConfig } from '../config/events-schema.ts';
import type { Services } from '../core/services.ts';
import type { Store } from '../store/index.ts';
import { type DeliveryWorker, startDeliveryWorker } from './worker.ts';
import type { TargetResolver } from './worker-targets.ts';

interface Context {
  events: { readonly config: EventsConfig };
  store: Store;
  services: Services;
  /** The hub's "a new event is stored"; absent in tests that run the worker alone. */
  onStored?(listener: () => void): void;
  /** Targets of subscriptions the config does not list (outbound webhook endpoints, `ep:<id>`). */
  resolver?: TargetResolver;
}

export interface DeliveryComponent {
  readonly name: 'delivery-worker';
  readonly worker: DeliveryWorker;
  reload(next: Context): void;
  close(): Promise<void>;
}

/**
 * @example
 * const COMPONENTS = [startDeliveryComponent, …];
 */
export function startDeliveryComponent(ctx: Context): DeliveryComponent {
  let config = ctx.events.config;
  // Unique per worker (store/deliveries.ts "fencing by owner"); the node id says where it runs.
  const owner = `node-${ctx.services.ids.nodeId}:${randomUUID()}`;
  const worker = startDeliveryWorker({
    config: () => config,
    store: ctx.store,
    services: ctx.services,
    owner,
    resolver: ctx.resolver,
  });
  // A new event wakes the worker, so its first delivery does not wait for the next idle poll.
  ctx.onStored?.(() => worker.wake());
  return {
    name: 'delivery-worker',
    worker,
    reload(next) {
      config = next.events.config;
      worker.wake();
    },
    close: () => worker.close(),
  };
}
