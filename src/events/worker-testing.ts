/**
 * Test support for the delivery worker (not exported from the events folder): quiet services, a
 * config with the schema's defaults, an HTTP receiver on port 0 that records what it got, and a
 * polling wait. Cleanup is registered on the test before anything starts.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Value } from 'typebox/value';
import { type EventsConfig, EventsSchema } from '../config/events-schema.ts';
import { noAudit } from '../core/audit.ts';
import { Snowflake } from '../core/ids.ts';
import { createLogger } from '../core/logger.ts';
import { createMetrics } from '../core/metrics.ts';
import type { Services } from '../core/services.ts';
import type { Delivery, Store } from '../store/index.ts';
import { parseDestinationConfig } from './destinations/index.ts';

export function quietServices(nodeId = 1): Services {
  const logger = createLogger({ level: 'silent' });
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

/** `events:` with defaults filled in, as the config loader hands it over. */
export function eventsConfig(raw: {
  subscriptions: Record<string, Record<string, unknown> & { destination: unknown }>;
  worker?: Partial<EventsConfig['worker']>;
}): EventsConfig {
  const config = Value.Default(EventsSchema, structuredClone(raw)) as EventsConfig;
  for (const [name, sub] of Object.entries(config.subscriptions)) {
    sub.destination = parseDestinationConfig(sub.destination, `subscriptions/${name}/destination`);
    sub.retry = { ...{ maxAttempts: 8, initialMs: 1_000, maxMs: 3_600_000 }, ...sub.retry };
    sub.types ??= ['*'];
    sub.enabled ??= true;
  }
  config.worker = { concurrency: 16, leaseMs: 60_000, idlePollMs: 250, ...raw.worker };
  return config;
}

export interface Received {
  id: string;
  body: string;
  at: number;
}

export type Answer = (r: Received, seen: number) => number | Promise<number>;

/**
 * An endpoint that answers each request with `answer(request, how many times this webhook-id came
 * before)`; every request is recorded.
 */
export async function receiver(t: TestContext, answer: Answer) {
  const requests: Received[] = [];
  const counts = new Map<string, number>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const r = { id: String(req.headers['webhook-id']), body, at: performance.now() };
    requests.push(r);
    const seen = counts.get(r.id) ?? 0;
    counts.set(r.id, seen + 1);
    res.statusCode = await answer(r, seen);
    res.end(res.statusCode >= 400 ? `refused ${r.id}` : '');
  });
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, requests, counts };
}

/** Appends `count` events from `source`, each queued for `subscriptions`; returns their deliveries. */
export async function appendEvents(
  store: Store,
  ids: Snowflake,
  count: number,
  subscriptions: readonly string[],
  payload: (i: number) => unknown = (i) => ({ n: i }),
): Promise<Delivery[]> {
  const out: Delivery[] = [];
  for (let i = 0; i < count; i++) {
    const r = await store.events.append(
      {
        source: 'shop',
        type: 'order.created',
        payload: JSON.stringify(payload(i)),
        headers: { 'content-type': 'application/json' },
      },
      subscriptions,
      ids,
    );
    if (!r.duplicate) out.push(...r.deliveries);
  }
  return out;
}

/** Polls `check` every 20 ms until it is truthy; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T> | T,
  timeoutMs = 20_000,
): Promise<Exclude<T, false | undefined | null | 0 | ''>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, false | undefined | null | 0 | ''>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
