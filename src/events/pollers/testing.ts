/**
 * Test support for pull sources and brokers (not exported): quiet services, an intake that appends
 * straight to the store (the pipeline's dedupe authority, the unique index, without its Bloom
 * filter or subscriptions), a config with the schema's defaults, and a polling wait.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Value } from 'typebox/value';
import {
  type EventsConfig,
  EventsSchema,
  type PollerConfig,
  PollerSchema,
} from '../../config/events-schema.ts';
import { noAudit } from '../../core/audit.ts';
import { Snowflake } from '../../core/ids.ts';
import { createLogger } from '../../core/logger.ts';
import { createMetrics } from '../../core/metrics.ts';
import type { Services } from '../../core/services.ts';
import type { Store } from '../../store/index.ts';
import type { EventIntake, IncomingEvent } from '../pipeline.ts';

export function quietServices(nodeId = 1): Services {
  const logger = createLogger({ level: process.env.TEST_LOG ?? 'silent' });
  return {
    logger,
    accessLogger: logger,
    metrics: createMetrics({ defaultMetrics: false }),
    ids: new Snowflake({ nodeId }),
    audit: noAudit,
    redisUrl: undefined,
    spans: undefined,
  };
}

export interface RecordingIntake extends EventIntake {
  /** Every call, in order, whether it succeeded or not. */
  calls: IncomingEvent[];
}

/**
 * @param fail called before each append; a thrown error is the intake's failure.
 */
export function storeIntake(
  store: Pick<Store, 'events'>,
  services: Pick<Services, 'ids'>,
  fail?: (e: IncomingEvent, call: number) => void,
): RecordingIntake {
  const calls: IncomingEvent[] = [];
  return {
    calls,
    async accept(e) {
      calls.push(e);
      fail?.(e, calls.length);
      const r = await store.events.append(e, [], services.ids);
      return r.duplicate ? { id: r.existingId, duplicate: true } : { id: r.event.id, duplicate: false };
    },
  };
}

/** `events:` with the given pollers, defaults filled in as the config loader does. */
export function pollersConfig(pollers: Record<string, Partial<PollerConfig>>): EventsConfig {
  const config = Value.Default(EventsSchema, {}) as EventsConfig;
  for (const [name, raw] of Object.entries(pollers)) {
    config.pollers[name] = Value.Default(PollerSchema, structuredClone(raw)) as PollerConfig;
  }
  return config;
}

/** Resolves with `probe()`'s first truthy value; rejects after `timeoutMs`. */
export async function until<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
