/**
 * The event hub of a running gateway: owns the inbound pipeline (dedupe → subscriptions → store),
 * the webhook endpoints it mounts on the proxy listener, and the parts that run on their own — the
 * delivery worker, pollers, broker consumers — as `HubComponent`s started after the pipeline is
 * ready and closed before the store is.
 *
 * Reload is in two steps so that the gateway can swap the ingress and the hub together: `stage`
 * compiles the next config (throwing `config_invalid` with the issues, nothing changed), its
 * `endpoints` go into the next route table, and `apply` switches the pipeline and the components
 * once that table is in place.
 */
import { sql } from 'kysely';
import type { LoadedConfig } from '../config/loader.ts';
import type { MountedEndpoint } from '../core/endpoint.ts';
import type { Services } from '../core/services.ts';
import type { Store } from '../store/index.ts';
import { startBrokersComponent } from './brokers/index.ts';
import { acknowledgesEvents, type CompiledEvents, compileEvents } from './compile.ts';
import { eventMetrics } from './metrics.ts';
import { type EventIntake, EventPipeline } from './pipeline.ts';
import { startPollersComponent } from './pollers/index.ts';
import { webhookEndpoint } from './webhooks.ts';
import { startDeliveryComponent } from './worker-component.ts';
import type { TargetResolver } from './worker-targets.ts';

/** What a component is started with, and handed again on every reload. */
export interface HubContext {
  loaded: LoadedConfig;
  events: CompiledEvents;
  store: Store;
  services: Services;
  /** Where a component puts the events it receives (pollers, brokers). */
  intake: EventIntake;
  /** Subscribes to "a new event is stored" (any source): the delivery worker wakes on it. */
  onStored(listener: () => void): void;
  /**
   * Targets of deliveries whose subscription is not in `events.subscriptions` (outbound webhook
   * endpoints, `ep:<id>`), handed to the delivery worker. The hub does not close it.
   */
  resolver?: TargetResolver;
}

export interface HubComponent {
  readonly name: string;
  /** The config changed; the component adopts `next` (or keeps running as it is if unchanged). */
  reload?(next: HubContext): void | Promise<void>;
  /** Stops taking work and finishes or gives back what it holds; the store is still open. */
  close(): Promise<void>;
}

export type HubComponentStarter = (ctx: HubContext) => HubComponent | Promise<HubComponent>;

/**
 * The hub's self-running parts, started in this order and closed in the reverse. Each capability adds
 * its starter here (one line): the delivery worker (src/events/worker*.ts), the pollers
 * (src/events/pollers/), the broker consumers (src/events/brokers/).
 */
const COMPONENTS: readonly HubComponentStarter[] = [
  startDeliveryComponent,
  startPollersComponent,
  startBrokersComponent,
];

export interface StagedEvents {
  readonly events: CompiledEvents;
  /** The webhook endpoints of the staged config, for the next route table. */
  readonly endpoints: readonly MountedEndpoint[];
  /** Switches the pipeline and the components to the staged config. */
  apply(): Promise<void>;
}

export interface EventHub {
  readonly intake: EventIntake;
  /** The webhook endpoints of the current config. */
  readonly endpoints: readonly MountedEndpoint[];
  /** Compiles `next` without changing anything; throws `config_invalid`. */
  stage(next: LoadedConfig): StagedEvents;
  /** `stage(next).apply()`, for callers with no route table to swap alongside. */
  reload(next: LoadedConfig): Promise<readonly MountedEndpoint[]>;
  /**
   * Says that events were stored outside the intake (an outbound webhook message sent through the
   * admin API): the delivery worker wakes now instead of at its next poll.
   */
  notifyStored(): void;
  close(): Promise<void>;
}

export interface EventHubOptions {
  loaded: LoadedConfig;
  store: Store;
  services: Services;
  /** Extra components (tests); started after the built-in ones. */
  components?: readonly HubComponentStarter[];
  /**
   * The delivery worker's resolver of subscriptions the config does not list: the gateway passes
   * the outbound webhook endpoints' (src/webhooks/delivery.ts), so src/events never imports
   * src/webhooks. The caller closes it after the hub.
   */
  resolver?: TargetResolver;
}

/**
 * Compiles `events:`, rebuilds the dedupe filter from the store and starts the components. Call it
 * after the store opened and before the proxy listener accepts, so no webhook reaches a half-built
 * filter.
 * @example
 * const hub = await startEventHub({ loaded, store, services });
 * const runtime = compileRuntime(loaded, services, undefined, shards, hub.endpoints);
 * // on reload: const staged = hub.stage(next); swap(compileRuntime(…, staged.endpoints)); await staged.apply();
 * // on close, before the store: await hub.close();
 */
export async function startEventHub(options: EventHubOptions): Promise<EventHub> {
  const { store, services } = options;
  let events = compileEvents(options.loaded);
  const metrics = eventMetrics(services.metrics.registry);
  const pipeline = new EventPipeline({
    store,
    services,
    dedupe: events.config.dedupe,
    subscriptions: events.subscriptions,
  });
  // Only a node with sources reads the keys: a gateway without events pays nothing for the hub.
  let built = false;
  const build = async (compiled: CompiledEvents) => {
    if (built || !acknowledgesEvents(compiled.config)) return;
    built = true;
    const started = Date.now();
    const keys = await pipeline.rebuild();
    services.logger.info({ keys, ms: Date.now() - started }, 'events: dedupe filter rebuilt from the store');
  };
  await build(events);
  await syncEveryCommit(store, events);

  const endpointsOf = (compiled: CompiledEvents) =>
    compiled.sources.map((s) => webhookEndpoint(s, pipeline, metrics));
  let endpoints = endpointsOf(events);
  const context = (loaded: LoadedConfig): HubContext => ({
    loaded,
    events,
    store,
    services,
    intake: pipeline,
    onStored: (listener) => pipeline.onStored(listener),
    resolver: options.resolver,
  });

  const components: HubComponent[] = [];
  const close = async () => {
    for (const c of components.splice(0).reverse()) {
      try {
        await c.close();
      } catch (err) {
        services.logger.error({ err, component: c.name }, 'events: a component failed to close');
      }
    }
  };
  try {
    for (const start of [...COMPONENTS, ...(options.components ?? [])])
      components.push(await start(context(options.loaded)));
  } catch (err) {
    await close();
    throw err;
  }

  const stage = (next: LoadedConfig): StagedEvents => {
    const compiled = compileEvents(next);
    const staged = endpointsOf(compiled);
    return {
      events: compiled,
      endpoints: staged,
      async apply() {
        events = compiled;
        endpoints = staged;
        await syncEveryCommit(store, compiled);
        await pipeline.update(compiled.subscriptions, compiled.config.dedupe);
        await build(compiled);
        for (const c of components) {
          try {
            await c.reload?.(context(next));
          } catch (err) {
            services.logger.error({ err, component: c.name }, 'events: a component failed to reload');
          }
        }
      },
    };
  };
  return {
    intake: pipeline,
    get endpoints() {
      return endpoints;
    },
    stage,
    async reload(next) {
      const staged = stage(next);
      await staged.apply();
      return staged.endpoints;
    },
    notifyStored: () => pipeline.notifyStored(),
    close,
  };
}

/**
 * "Acknowledge only what is on disk": with events to acknowledge, SQLite must sync the WAL on every
 * commit (FULL; NORMAL survives a crash of the process but not of the machine). The gateway opens
 * the store that way already; this covers a reload that adds the first source. PostgreSQL's commit
 * is durable by default (synchronous_commit = on).
 */
async function syncEveryCommit(store: Store, events: CompiledEvents): Promise<void> {
  if (store.dialect !== 'sqlite' || !acknowledgesEvents(events.config)) return;
  const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(store.db);
  // 2 = FULL, 3 = EXTRA (https://www.sqlite.org/pragma.html#pragma_synchronous)
  if ((rows[0]?.synchronous ?? 0) < 2) await sql`PRAGMA synchronous = FULL`.execute(store.db);
}
