/**
 * The pollers as one of the event hub's components (src/events/hub.ts): started with the hub's
 * intake, handed each reloaded `events:` config, closed (leases released) before the store.
 */
import { randomUUID } from 'node:crypto';
import type { EventsConfig } from '../../config/events-schema.ts';
import type { Services } from '../../core/services.ts';
import type { Store } from '../../store/index.ts';
import type { EventIntake } from '../pipeline.ts';
import { startPollers } from './pollers.ts';

interface Context {
  events: { readonly config: EventsConfig };
  store: Pick<Store, 'pollCursors'>;
  services: Services;
  intake: EventIntake;
}

export interface PollersComponent {
  readonly name: 'pollers';
  reload(next: Context): Promise<void>;
  close(): Promise<void>;
}

/**
 * @example
 * const COMPONENTS = [startDeliveryComponent, startPollersComponent, …];
 */
export function startPollersComponent(ctx: Context): PollersComponent {
  let config = ctx.events.config;
  const pollers = startPollers({
    config: () => config,
    store: ctx.store,
    intake: ctx.intake,
    services: ctx.services,
    // Unique per process: a restarted node waits out its old lease (or another node takes it) rather
    // than sharing an owner name with a process that may still be alive.
    owner: `node-${ctx.services.ids.nodeId}:${randomUUID()}`,
  });
  return {
    name: 'pollers',
    reload(next) {
      config = next.events.config;
      return pollers.reload();
    },
    close: () => pollers.close(),
  };
}
