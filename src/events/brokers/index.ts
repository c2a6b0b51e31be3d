/**
 * Brokers as event sources: a NATS JetStream stream or a RabbitMQ queue consumed into the event
 * pipeline, each message acknowledged once its event is stored. See docs/events.md "Pull sources and
 * brokers".
 */
import { isDeepStrictEqual } from 'node:util';
import type { BrokerSourceConfig, EventsConfig } from '../../config/events-schema.ts';
import type { Services } from '../../core/services.ts';
import type { EventIntake } from '../pipeline.ts';
import { brokerMetrics } from './metrics.ts';
import { startNatsSource } from './nats.ts';
import { startRabbitMqSource } from './rabbitmq.ts';
import { compileEventType } from './template.ts';
import type { BrokerSource } from './types.ts';

export type { BrokerSource } from './types.ts';
export { compileEventType };

export interface BrokerSourcesOptions {
  /** Read at start and on every `reload()`. */
  config: () => EventsConfig;
  intake: EventIntake;
  services: Pick<Services, 'logger' | 'metrics'>;
}

export interface BrokerSources {
  /** Starts, stops or restarts the consumers whose config changed; the others go on untouched. */
  reload(): Promise<void>;
  /** Stops consuming and waits for the messages in flight to be stored and acknowledged. */
  close(): Promise<void>;
}

/**
 * @example
 * const brokers = startBrokerSources({ config: () => loaded.config.events, intake: hub.intake, services });
 * await brokers.close();
 */
export function startBrokerSources(options: BrokerSourcesOptions): BrokerSources {
  const metrics = brokerMetrics(options.services.metrics.registry);
  const running = new Map<string, BrokerSource>();
  let closed = false;
  let queue: Promise<void> = Promise.resolve();
  const serial = (work: () => Promise<void>) => {
    queue = queue.then(work, work);
    return queue;
  };

  const start = (name: string, config: BrokerSourceConfig): BrokerSource => {
    const common = { name, intake: options.intake, logger: options.services.logger, metrics };
    return config.type === 'nats'
      ? startNatsSource({ ...common, config })
      : startRabbitMqSource({ ...common, config });
  };

  const apply = async () => {
    const wanted = closed ? {} : checked(options.config());
    const stopping: Promise<void>[] = [];
    for (const [name, source] of running) {
      if (!isDeepStrictEqual(wanted[name], source.config)) {
        running.delete(name);
        stopping.push(source.close());
      }
    }
    await Promise.all(stopping);
    for (const [name, config] of Object.entries(wanted)) {
      if (!running.has(name)) running.set(name, start(name, config));
    }
  };

  // A bad eventType throws here, at start, and a reload to one rejects with nothing changed.
  checked(options.config());
  void serial(apply);
  return {
    reload: () => serial(apply),
    close: () => {
      closed = true;
      return serial(apply);
    },
  };
}

/** The config's brokers, once each `eventType` template compiles. */
function checked(config: EventsConfig): EventsConfig['brokers'] {
  for (const [name, broker] of Object.entries(config.brokers)) {
    try {
      compileEventType(broker.eventType, broker.type === 'nats' ? 'subject' : 'routingKey');
    } catch (err) {
      throw new TypeError(`events.brokers.${name}: ${(err as Error).message}`);
    }
  }
  return config.brokers;
}
