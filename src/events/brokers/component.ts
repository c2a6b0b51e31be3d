/**
 * The broker consumers as one of the event hub's components (src/events/hub.ts): started with the
 * hub's intake, handed each reloaded `events:` config, closed (in-flight messages acked or given
 * back) before the store.
 */
import type { EventsConfig } from '../../config/events-schema.ts';
import type { Services } from '../../core/services.ts';
import type { EventIntake } from '../pipeline.ts';
import { startBrokerSources } from './sources.ts';

interface Context {
  events: { readonly config: EventsConfig };
  services: Services;
  intake: EventIntake;
}

export interface BrokersComponent {
  readonly name: 'brokers';
  reload(next: Context): Promise<void>;
  close(): Promise<void>;
}

/**
 * @example
 * const COMPONENTS = [startDeliveryComponent, startPollersComponent, startBrokersComponent];
 */
export function startBrokersComponent(ctx: Context): BrokersComponent {
  let config = ctx.events.config;
  const brokers = startBrokerSources({ config: () => config, intake: ctx.intake, services: ctx.services });
  return {
    name: 'brokers',
    reload(next) {
      config = next.events.config;
      return brokers.reload();
    },
    close: () => brokers.close(),
  };
}
