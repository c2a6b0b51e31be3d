/**
 * Test support for the outbound webhook admin API (not exported): the real admin app (auth, roles,
 * problem answers, OpenAPI) over a store of the test's own on SQLite or PostgreSQL, listening on
 * 127.0.0.1 port 0, with tokens per role, a recording audit sink and the typed client. Closed by
 * `t.after`.
 */
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { loadConfigText } from '../../config/loader.ts';
import type { AuditEntry } from '../../core/audit.ts';
import { Snowflake } from '../../core/ids.ts';
import { createLogger } from '../../core/logger.ts';
import { createMetrics } from '../../core/metrics.ts';
import type { Services } from '../../core/services.ts';
import type { Store } from '../../store/index.ts';
import type { Target } from '../../store/testing.ts';
import {
  createWebhookClient,
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
