/**
 * Every poller of the config, started, restarted and stopped as it changes.
 */
import { isDeepStrictEqual } from 'node:util';
import type { EventsConfig } from '../../config/events-schema.ts';
import type { Services } from '../../core/services.ts';
import type { Store } from '../../store/index.ts';
import type { EventIntake } from '../pipeline.ts';
import { pollerMetrics } from './metrics.ts';
import { type Poller, startPoller } from './poller.ts';

export interface PollersOptions {
  /** Read at start and on every `reload()`. */
  config: () => EventsConfig;
  store: Pick<Store, 'pollCursors'>;
  intake: EventIntake;
  services: Pick<Services, 'logger' | 'metrics'>;
  /** This node's name as a lease holder: unique among the nodes sharing the store. */
  owner: string;
}

export interface Pollers {
  /** Starts, stops or restarts pollers whose config changed; the others go on untouched. */
  reload(): Promise<void>;
  /** Stops every poller and gives its lease back. */
  close(): Promise<void>;
}

/**
 * @example
 * const pollers = startPollers({ config: () => loaded.config.events, store, intake: hub.intake,
 *   services, owner: `node-${nodeId}-${instanceId}` });
 * await pollers.reload(); // after a config reload
 * await pollers.close();
 */
export function startPollers(options: PollersOptions): Pollers {
  const metrics = pollerMetrics(options.services.metrics.registry);
  const running = new Map<string, Poller>();
  let closed = false;
  // Reloads and close run one at a time, so a poller is never started twice or after close.
  let queue: Promise<void> = Promise.resolve();
  const serial = (work: () => Promise<void>) => {
    queue = queue.then(work, work);
    return queue;
  };

  const apply = async () => {
    const wanted = closed ? {} : options.config().pollers;
    const stopping: Promise<void>[] = [];
    for (const [name, poller] of running) {
      if (!isDeepStrictEqual(wanted[name], poller.config)) {
        running.delete(name);
        stopping.push(poller.close());
      }
    }
    // A changed poller's old instance gives its lease back before the new one asks for it.
    await Promise.all(stopping);
    for (const [name, config] of Object.entries(wanted)) {
      if (running.has(name)) continue;
      running.set(
        name,
        startPoller({
          name,
          config,
          store: options.store,
          intake: options.intake,
          owner: options.owner,
          logger: options.services.logger,
          metrics,
        }),
      );
    }
  };

  void serial(apply);
  return {
    reload: () => serial(apply),
    close: () => {
      closed = true;
      return serial(apply);
    },
  };
}
