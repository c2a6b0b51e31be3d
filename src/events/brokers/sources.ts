/**
 * Every broker consumer of the config, started, restarted and stopped as it changes.
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

/**
 * What the schema cannot check in `events.brokers`: each `eventType` template. For the config
 * compiler, which reports them with file and line.
 * @example
 * for (const i of brokerConfigIssues(config)) issue(i.path, i.message);
 */
export function brokerConfigIssues(config: EventsConfig): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (const [name, broker] of Object.entries(config.brokers)) {
    try {
      compileEventType(broker.eventType, broker.type === 'nats' ? 'subject' : 'routingKey');
    } catch (err) {
      issues.push({ path: `/events/brokers/${name}/eventType`, message: (err as Error).message });
    }
  }
  return issues;
}

/** The config's brokers, once each `eventType` template compiles. */
function checked(config: EventsConfig): EventsConfig['brokers'] {
  const [first] = brokerConfigIssues(config);
  if (first !== undefined) throw new TypeError(`${first.path}: ${first.message}`);
  return config.brokers;
}
