/**
 * Test support for the outbound webhook admin API (not exported): the real admin app (auth, roles,
 * problem answers, OpenAPI) over a store of the test's own on SQLite or PostgreSQL, listening on
 * 127.0.0.1 port 0, with tokens per role, a recording audit sink and the typed client; and a delivery
 * worker with the endpoint resolver over that store, as a running gateway has. Closed by `t.after`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import type { EventsConfig } from '../../config/events-schema.ts';
import { loadConfigText } from '../../config/loader.ts';
import type { AuditEntry } from '../../core/audit.ts';
import { Snowflake } from '../../core/ids.ts';
import { createLogger } from '../../core/logger.ts';
import { createMetrics } from '../../core/metrics.ts';
import type { Services } from '../../core/services.ts';
import { type DeliveryWorker, startDeliveryWorker } from '../../events/worker.ts';
import { eventsConfig } from '../../events/worker-testing.ts';
import type { Store } from '../../store/index.ts';
import type { Target } from '../../store/testing.ts';
import {
  createEndpointResolver,
  createWebhookClient,
  type EndpointResolver,
  type EndpointResolverOptions,
  type WebhookApiError,
  type WebhookClient,
  type WebhookSettings,
  webhookSettings,
} from '../../webhooks/index.ts';
import { buildAdminApp } from '../app.ts';

export const TOKENS = {
  admin: 'webhooks-admin-token-0123456789',
  operator: 'webhooks-operator-token-0123456789',
  viewer: 'webhooks-viewer-token-0123456789',
  /** An admin scoped to tenant `acme`. */
  acme: 'webhooks-acme-admin-token-0123456789',
} as const;

export interface WebhookApi {
  store: Store;
  services: Services;
  baseUrl: string;
  audit: AuditEntry[];
  client(role?: keyof typeof TOKENS): WebhookClient;
  /** The settings the admin API reads; assign to change them (e.g. an encryption key rotation). */
  settings: WebhookSettings;
}

export async function startWebhookApi(
  t: TestContext,
  target: Target,
  settings: Partial<WebhookSettings> = {},
): Promise<WebhookApi> {
  const store = await (await target.setup(t)).openMigrated();
  const audit: AuditEntry[] = [];
  const logger = createLogger({ level: 'silent' });
  const services: Services = {
    logger,
    accessLogger: logger,
    metrics: createMetrics({ defaultMetrics: false }),
    ids: new Snowflake({ nodeId: 1 }),
    audit: { record: (e) => void audit.push(e), flush: async () => {} },
    redisUrl: undefined,
    spans: undefined,
  };
  const config = loadConfigText(
    stringify({
      admin: {
        token: TOKENS.admin,
        tokens: [
          { name: 'ops', token: TOKENS.operator, role: 'operator' },
          { name: 'dash', token: TOKENS.viewer, role: 'viewer' },
          { name: 'acme-admin', token: TOKENS.acme, role: 'admin', tenant: 'acme' },
        ],
      },
    }),
    'webhooks-test.yaml',
    {},
  ).config;
  let current = webhookSettings(settings);
  const app = await buildAdminApp({
    services,
    store,
    token: TOKENS.admin,
    version: 'test',
    currentConfig: () => ({ revision: undefined, hash: 'test', config }),
    reload: async () => {
      throw new Error('no reload in these tests');
    },
    runtime: () => {
      throw new Error('no runtime in these tests');
    },
    routes: () => [],
    upstreams: () => [],
    notReadyReason: async () => undefined,
    webhookSettings: () => current,
  });
  t.after(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    store,
    services,
    baseUrl,
    audit,
    get settings() {
      return current;
    },
    set settings(next) {
      current = next;
    },
    client: (role = 'admin') => createWebhookClient({ baseUrl, token: TOKENS[role] }),
  };
}

export interface EndpointWorkerOptions {
  /** Over `events.worker` of `{ idlePollMs: 20 }` (no subscriptions); ignored with `config`. */
  worker?: Partial<EventsConfig['worker']>;
  /** The whole `events:` config instead (e.g. with subscriptions beside the endpoints). */
  config?: () => EventsConfig;
  /** Instead of the API's (e.g. with an audit sink of the test's own). */
  services?: Services;
  /** Over the resolver's defaults, whose settings are read live from `api.settings`. */
  resolverOptions?: Partial<Omit<EndpointResolverOptions, 'store' | 'services'>>;
  /** A resolver of the test's own instead of a new one (closed likewise). */
  resolver?: EndpointResolver;
}

/**
 * A delivery worker with the outbound endpoint resolver over the API's store (a disabled or unknown
 * target is looked at again after 50 ms); the worker, then the resolver, are closed by `t.after`.
 *
 * @example
 * const api = await startWebhookApi(t, target, { allowHosts: ['127.0.0.1'] });
 * const { worker } = startEndpointWorker(t, api, { worker: { concurrency: 2 } });
 */
export function startEndpointWorker(
  t: TestContext,
  api: WebhookApi,
  options: EndpointWorkerOptions = {},
): { worker: DeliveryWorker; resolver: EndpointResolver } {
  const services = options.services ?? api.services;
  // Late-bound: the resolver wakes the worker that is started with it below.
  let woken: DeliveryWorker | undefined;
  const resolver =
    options.resolver ??
    createEndpointResolver({
      store: api.store,
      services,
      wake: () => woken?.wake(),
      sockets: () => options.worker?.concurrency ?? 16,
      // A getter, so a test that assigns `api.settings` (a key rotation) reaches the resolver.
      settings: () => api.settings,
      ...options.resolverOptions,
    });
  const worker = startDeliveryWorker({
    config:
      options.config ??
      (() => eventsConfig({ subscriptions: {}, worker: { idlePollMs: 20, ...options.worker } })),
    store: api.store,
    services,
    owner: `w-${randomBytes(4).toString('hex')}`,
    resolver,
    recheckMs: 50,
  });
  woken = worker;
  t.after(async () => {
    await worker.close();
    await resolver.close();
  });
  return { worker, resolver };
}

/** Asserts that `p` fails with this HTTP status (and code); returns the problem for more checks. */
export async function rejects(p: Promise<unknown>, status: number, code?: string): Promise<WebhookApiError> {
  try {
    await p;
  } catch (err) {
    const e = err as WebhookApiError;
    assert.equal(e.status, status, `${e.code}: ${e.message}`);
    if (code !== undefined) assert.equal(e.code, code);
    return e;
  }
  assert.fail(`expected HTTP ${status}`);
}
